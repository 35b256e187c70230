#pragma once
// The registry section of the config (registry.*): upstreams, tag revalidation, bounds.
#include <string>
#include <string_view>
#include <vector>
#include "core/config_section.hpp"
#include "core/duration.hpp"
#include "upstream/config.hpp"

namespace outpost {

struct RegistryUpstreamConfig {
  std::string name;  // what clients call the registry: ?ns=<name>, /v2/<name>/…
  std::string url;   // scheme://host[:port] that Outpost dials
  std::string username;
  std::string password;   // from password_file or password_env; never logged
  bool insecure = false;  // allow http:// and skip TLS verification
  // Tried in order before the origin; requests carry ?ns=<name> so an Outpost hub (or any
  // registry that honours ns) routes them to the same upstream.
  std::vector<MirrorConfig> mirrors;
};

// When a cached tag older than tag_ttl is checked upstream. background: the cached digest is
// served at once and a HEAD upstream runs after (single-flight per tag); a tag moved upstream is
// served from the next pull on. inline: the pull waits for the HEAD (and for the new manifest when
// the tag moved), which costs a round trip upstream on every due pull.
enum class Revalidate { background, inline_ };

struct RegistryConfig {
  std::string default_upstream = "docker.io";
  Millis tag_ttl = std::chrono::minutes(5);
  Revalidate revalidate = Revalidate::background;
  // Bound on any metadata call upstream (connect + answer). A tag revalidation that takes longer
  // serves the cached digest and opens the circuit breaker.
  Millis upstream_timeout = std::chrono::seconds(5);
  // A blob download with no bytes for this long is treated as a dropped connection and resumed.
  Millis stall_timeout = std::chrono::seconds(30);
  Millis breaker_min_backoff = std::chrono::seconds(1);
  Millis breaker_max_backoff = std::chrono::seconds(60);
  // A cached tag that upstream answers 404 for is still served (counted, listed on the status
  // page), so a node can restart a pod whose tag was deleted upstream. False: 404, as upstream.
  bool keep_deleted_tags = true;
  std::vector<RegistryUpstreamConfig> upstreams;

  const RegistryUpstreamConfig* find(std::string_view name) const;
};

namespace config {
// The `registry` section's key table (the one place its keys are listed).
const KeyTable<RegistryConfig>& registry_keys();
}  // namespace config

}  // namespace outpost
