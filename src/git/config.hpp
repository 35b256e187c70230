#pragma once
// The git section of the config (git.*): upstreams, syncs, gating, the pack cache.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include "core/config_section.hpp"
#include "core/duration.hpp"
#include "upstream/config.hpp"

namespace outpost {

// Ref gating for one mirrored repository: a new upstream commit is advertised only once what it
// needs is local. mode "images": the images its manifests under `paths` reference, pulled through
// the registry mirror. mode "bundle": the release named in `release_file` at that commit
// (source, name, version), imported.
//
// What a gated commit needs before it is advertised: every image its manifests reference pulled
// (images), or the release its release file names imported (bundle).
enum class GateMode { images, bundle };

struct GitGateConfig {
  std::string repo;  // <host>/<path>
  GateMode mode = GateMode::images;
  std::vector<std::string> paths;
  std::string release_file = ".outpost/release.yaml";
};

// The Git pack cache (git/pack_cache.hpp): identical fetches share one upload-pack run, and its
// response is kept for the next ones.
struct PackCacheConfig {
  bool enabled = true;                   // false: runs are still shared, nothing is kept
  std::uint64_t max_bytes = 2ull << 30;  // kept responses, least recently used evicted first
  Millis ttl = std::chrono::hours(1);    // a kept response is dropped after this long
  // A response is kept once its request has been seen this often (or when clients shared its
  // run): 1 keeps every response, 2 (default) only what is asked again.
  int min_requests = 2;
};

struct GitConfig {
  Millis sync_interval = std::chrono::seconds(60);
  // How long a ref discovery may wait for a refresh of a stale mirror (upstream healthy only).
  Millis request_refresh_budget = std::chrono::seconds(2);
  Millis sync_timeout = std::chrono::minutes(30);  // bound on one git fetch
  // A fetch that receives under 1 KB/s for this long is abandoned (a dead or black-holed link).
  Millis stall_timeout = std::chrono::seconds(60);
  // Before a first clone, a quick request checks that the host answers at all (fail fast offline).
  Millis probe_timeout = std::chrono::seconds(5);
  Millis breaker_min_backoff = std::chrono::seconds(5);
  Millis breaker_max_backoff = std::chrono::minutes(5);
  int max_parallel_syncs = 4;
  int max_upload_packs = 16;                 // concurrent git upload-pack processes
  std::size_t max_request_bytes = 64 << 20;  // upload-pack request body, after gzip
  std::string public_url;      // how clients reach Outpost (named in Argo CD notifications)
  std::string argocd_webhook;  // POST <argocd>/api/webhook after a sync moved refs ("" = off)
  std::string webhook_secret;  // shared secret for incoming webhooks and the Argo CD notification
  std::vector<HostUpstreamConfig> upstreams;
  std::vector<GitGateConfig> gating;
  PackCacheConfig pack_cache;

  const HostUpstreamConfig* find(std::string_view host) const;
};

namespace config {
// The `git` section's key table (the one place its keys are listed).
const KeyTable<GitConfig>& git_keys();
}  // namespace config

}  // namespace outpost
