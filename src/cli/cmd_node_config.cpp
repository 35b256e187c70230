#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/node_api.hpp"
#include "config/config.hpp"

#include <nlohmann/json.hpp>

namespace outpost::cli {
namespace {

struct NodeConfigArgs {
  ConfigOption config;
  std::vector<std::string> servers;  // one Outpost, or each replica of a site cluster
  std::vector<std::string> registries;
  std::string format = "all";
  std::optional<std::string> out_dir;
  std::optional<std::string> register_as;  // a node name to register with the first server
  TokenOption token;
};

// What a runtime reaches when Outpost does not answer: the registry's real endpoint.
std::string fallback(const Config& cfg, const std::string& registry) {
  if (const auto* u = cfg.registry.find(registry)) return u->url;
  return "https://" + registry;
}

// Each Outpost (every replica of a site cluster) is a host of its own, tried in order before the
// registry itself: containerd moves to the next host when one fails or answers 404.
std::string hosts_toml(const std::string& server_url, const std::vector<std::string>& outposts,
                       bool with_server) {
  std::string s;
  if (with_server) s += fmt::format("server = \"{}\"\n\n", server_url);
  s += "# Pull through Outpost first; containerd adds ?ns=<registry> so Outpost knows the "
       "upstream.\n";
  if (outposts.size() > 1)
    s += "# Each replica of the site cluster is a host: containerd fails over between them.\n";
  for (const auto& o : outposts)
    s += fmt::format("[host.\"{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n", o);
  return s;
}

std::string k3s_registries(const std::vector<std::string>& regs,
                           const std::vector<std::string>& outposts) {
  std::string s =
      "# /etc/rancher/k3s/registries.yaml (k3s and RKE2: "
      "/etc/rancher/rke2/registries.yaml)\nmirrors:\n";
  for (const auto& r : regs) {
    s += fmt::format("  \"{}\":\n    endpoint:\n", r);
    for (const auto& o : outposts) s += fmt::format("      - \"{}\"\n", o);
  }
  return s;
}

std::string crio_registries(const Config& cfg, const std::vector<std::string>& regs,
                            const std::vector<std::string>& outposts) {
  std::string s =
      "# /etc/containers/registries.conf.d/50-outpost.conf (CRI-O, podman)\n"
      "# CRI-O sends no ?ns=, so each mirror names its upstream in the path.\n";
  for (const auto& r : regs) {
    auto real = fallback(cfg, r);
    auto location = real.substr(real.find("://") + 3);
    s += fmt::format("\n[[registry]]\nprefix = \"{}\"\nlocation = \"{}\"\n", r,
                     r == "docker.io" ? "docker.io" : location);
    // The direct fallback (Outpost down) speaks what the upstream speaks.
    const auto* up = cfg.registry.find(r);
    if (r != "docker.io" && (real.starts_with("http://") || (up && up->insecure)))
      s += "insecure = true\n";
    for (const auto& o : outposts)
      s += fmt::format("\n[[registry.mirror]]\nlocation = \"{}/{}\"\ninsecure = {}\n",
                       o.substr(o.find("://") + 3), r, o.starts_with("http://") ? "true" : "false");
  }
  return s;
}

// containerd's registry section pointing at the hosts directory, for containerd 1.6/1.7
// (config version 2) and 2.x (version 3). One directory, not a list: containerd 2.1+'s transfer
// service does not read a list (containerd#12415).
std::string containerd_snippet(int version) {
  return fmt::format(
      "# Merge into /etc/containerd/config.toml (version = {}), then restart containerd.\n"
      "[plugins.\"{}\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n",
      version, version == 2 ? "io.containerd.grpc.v1.cri" : "io.containerd.cri.v1.images");
}

// Registers `name` with the first Outpost (POST /api/v1/nodes), so it is listed and flagged
// until pulls through Outpost arrive from it.
int register_with(const NodeConfigArgs& a, const std::string& server, const std::string& name) {
  if (auto r = register_node(server, a.token, {{"name", name}, {"reported_by", "node-config"}});
      !r) {
    std::cerr << "outpost node-config: cannot register node " << name << " with " << server << ": "
              << r.error().message << "\n";
    return 1;
  }
  std::cerr << "registered node " << name << " with " << server << "\n";
  return 0;
}

int run(const NodeConfigArgs& a) {
  Config cfg = load_config(a.config.path);
  std::vector<std::string> outposts;
  for (auto url : a.servers) {
    while (url.ends_with('/')) url.pop_back();
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      std::cerr << "outpost node-config: --server must be an http(s) URL: " << url << "\n";
      return 2;
    }
    outposts.push_back(url);
  }
  auto regs = a.registries;
  if (regs.empty())
    for (const auto& u : cfg.registry.upstreams) regs.push_back(u.name);

  std::vector<std::pair<std::string, std::string>> files;  // relative path, content
  bool all = a.format == "all";
  if (all || a.format == "containerd") {
    for (const auto& r : regs)
      files.emplace_back("containerd/certs.d/" + r + "/hosts.toml",
                         hosts_toml(fallback(cfg, r), outposts, true));
    files.emplace_back("containerd/certs.d/_default/hosts.toml", hosts_toml("", outposts, false));
    files.emplace_back("containerd/config-v2.toml", containerd_snippet(2));
    files.emplace_back("containerd/config-v3.toml", containerd_snippet(3));
  }
  if (all || a.format == "k3s")
    files.emplace_back("k3s/registries.yaml", k3s_registries(regs, outposts));
  if (all || a.format == "crio")
    files.emplace_back("crio/50-outpost.conf", crio_registries(cfg, regs, outposts));
  if (files.empty()) {
    std::cerr << "outpost node-config: --format must be containerd, k3s, crio or all\n";
    return 2;
  }
  for (const auto& [path, content] : files) {
    if (a.out_dir) {
      auto p = std::filesystem::path(*a.out_dir) / path;
      std::filesystem::create_directories(p.parent_path());
      std::ofstream(p) << content;
      std::cerr << "wrote " << p.string() << "\n";
    } else {
      std::cout << "# ---- " << path << "\n" << content << "\n";
    }
  }
  return a.register_as ? register_with(a, outposts.front(), *a.register_as) : 0;
}

}  // namespace

Action setup_node_config(CLI::App& sub) {
  auto a = std::make_shared<NodeConfigArgs>();
  a->config.add_to(sub);
  sub.add_option("--server", a->servers,
                 "Outpost's URL as nodes reach it, e.g. http://10.0.0.5:30080; for a site "
                 "cluster, each replica's URL (repeat, or comma-separated), tried in order")
      ->required()
      ->delimiter(',');
  sub.add_option("--registries", a->registries,
                 "Registries to mirror (default: the config's registry.upstreams)")
      ->delimiter(',');
  sub.add_option("--format", a->format, "containerd | k3s | crio | all (default all)");
  sub.add_option("--out", a->out_dir, "Write files under this directory instead of printing them");
  sub.add_option("--register", a->register_as,
                 "Register this node name with the first --server (listed, and flagged until its "
                 "pulls arrive through Outpost)");
  a->token.add_to(sub);
  sub.footer(
      "containerd: copy containerd/certs.d/* to /etc/containerd/certs.d/ and set config_path\n"
      "  (containerd 1.6/1.7, config version 2: containerd/config-v2.toml; containerd 2.x,\n"
      "  version 3: containerd/config-v3.toml). Then run `outpost doctor` on the node.");
  return [a] { return run(*a); };
}

}  // namespace outpost::cli
