#pragma once
// Gates for git.gating: decide whether an upstream commit may be advertised, by making what it
// needs local — its images pulled through the registry mirror (mode images), or its release bundle
// imported (mode bundle). A gate never blocks other repositories: it runs in the gated mirror's
// own sync.
#include <functional>

#include "bundle/jobs.hpp"
#include "git/config.hpp"
#include "git/mirror.hpp"
#include "registry/config.hpp"
#include "registry/image_ref.hpp"
#include "registry/mirror.hpp"
#include "store/meta_records.hpp"

namespace outpost::gate {

// A commit's release file (git.gating[].release_file, mode bundle): which release it needs.
struct ReleaseFile {
  std::string source, name, version;
};
// Parses the YAML of a release file taken from the upstream repository: every check for YAML from
// outside applies. Errc::invalid_argument says why it is unusable.
Result<ReleaseFile> parse_release_file(std::string_view text);

// An image pulled whole through the mirror (every platform of an index): its top digest and every
// blob it is made of (manifests with their media types), to pin it; or why it is not local yet.
struct PulledImage {
  bool ready = false;
  std::string why;
  Digest top = Digest::from_hex(std::string(64, '0'));
  std::vector<ReleaseRecord::Blob> blobs;
};
PulledImage pull_image(registry::Mirror& mirror, const RegistryConfig& reg,
                       const registry::ImageRef& ref);

// The gate for `id` per config (an empty function when the repository is not gated).
git::GateFn make_gate(const GitConfig& cfg, const RegistryConfig& registry_cfg,
                      const git::RepoId& id, registry::Mirror& mirror,
                      bundle::ReleaseJobs& releases);

}  // namespace outpost::gate
