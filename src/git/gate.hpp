#pragma once
// Gates for git.gating: decide whether an upstream commit may be advertised, by making what it
// needs local — its images pulled through the registry mirror (mode images), or its release bundle
// imported (mode bundle). A gate never blocks other repositories: it runs in the gated mirror's
// own sync.
#include <functional>

#include "bundle/jobs.hpp"
#include "core/config.hpp"
#include "git/mirror.hpp"
#include "registry/mirror.hpp"

namespace outpost::git {

// The gate for `id` per config (an empty function when the repository is not gated).
GateFn make_gate(const GitConfig& cfg, const RegistryConfig& registry_cfg, const RepoId& id,
                 registry::Mirror& mirror, bundle::ReleaseJobs& releases);

}  // namespace outpost::git
