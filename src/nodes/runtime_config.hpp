#pragma once
// What a node's container runtime will do with a pull, read from its real configuration files
// (for `outpost doctor`): for each upstream registry, whether the pull goes through Outpost, and
// the file and line that decide it (the place to fix). Reads:
// - containerd 1.x (`version = 2`, or 1) and 2.x (`version = 3`, the io.containerd.cri.v1.images
//   plugin): the CRI registry's config_path (a directory or a ':' list; 2.x's default
//   /etc/containerd/certs.d:/etc/docker/certs.d) and its hosts.toml files, or the deprecated
//   `mirrors` table. containerd 2.1+ pulls through its transfer service unless the CRI falls
//   back to local pulls, and that service does not read a config_path list (containerd#12415):
//   a list there is a bypass;
// - k3s and RKE2 registries.yaml (`mirrors:`, with the "*" wildcard);
// - CRI-O and podman registries.conf (v2 `[[registry]]` with `[[registry.mirror]]`) and the
//   files of registries.conf.d, later files overriding earlier ones per prefix.
// Pure apart from reading files; never runs the runtime.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace outpost::nodes {

struct Finding {
  std::string upstream;  // docker.io, ghcr.io, …
  bool through = false;  // the runtime's pulls go through one of the Outposts
  std::string file;      // the file that decides it (or where the fix goes)
  int line = 0;          // its line (0: the file as a whole, or a file to create)
  std::string detail;    // what the runtime does, and for a bypass what to change
  // containerd: the hosts directory (one root of config_path) whose hosts.toml routes this
  // upstream, for a canary pull with `ctr --hosts-dir`.
  std::string hosts_dir;
};

struct RuntimeReport {
  std::string runtime;             // containerd | k3s | cri-o
  std::string config_file;         // what was read
  std::vector<std::string> notes;  // what else the reader noticed (deprecated keys, defaults)
  std::vector<Finding> findings;   // one per upstream, in the order asked
  std::string error;               // unreadable configuration ("" when read)
};

// `outposts`: Outpost's URLs as nodes reach it (scheme://host:port). `upstreams`: registry names.
RuntimeReport check_containerd(const std::filesystem::path& config_toml,
                               const std::vector<std::string>& outposts,
                               const std::vector<std::string>& upstreams);
RuntimeReport check_k3s(const std::filesystem::path& registries_yaml,
                        const std::vector<std::string>& outposts,
                        const std::vector<std::string>& upstreams);
RuntimeReport check_crio(const std::filesystem::path& registries_conf,
                         const std::filesystem::path& conf_d,
                         const std::vector<std::string>& outposts,
                         const std::vector<std::string>& upstreams);

// Whether `url` (a hosts.toml host, an endpoint; with or without scheme, path or trailing '/')
// names one of `outposts` (same host and port; a missing port is the scheme's default).
bool names_outpost(std::string_view url, const std::vector<std::string>& outposts);

}  // namespace outpost::nodes
