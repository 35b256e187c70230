#pragma once
// The helm section of the config (helm.*): chart repository upstreams and bounds.
#include <string>
#include <string_view>
#include <vector>
#include "core/config_section.hpp"
#include "core/duration.hpp"
#include "upstream/config.hpp"

namespace outpost {

// Classic Helm chart repositories (index.yaml + chart archives), mirrored at /helm/<host>/<path>/.
struct HelmConfig {
  // A cached index.yaml is refreshed in the background this often, and on a request within
  // request_refresh_budget when the upstream is healthy; otherwise the last good copy is served.
  Millis refresh_interval = std::chrono::minutes(5);
  Millis request_refresh_budget = std::chrono::seconds(2);
  Millis fetch_timeout = std::chrono::seconds(60);  // bound on one index or chart download
  // A chart download with no byte for this long is retried (RetryBudget of this stall timeout).
  Millis stall_timeout = std::chrono::seconds(10);
  Millis breaker_min_backoff = std::chrono::seconds(5);
  Millis breaker_max_backoff = std::chrono::minutes(5);
  std::size_t max_index_bytes = 64 << 20;
  std::size_t max_chart_bytes = 64 << 20;
  std::vector<HostUpstreamConfig> upstreams;

  const HostUpstreamConfig* find(std::string_view host) const;
};

namespace config {
// The `helm` section's key table (the one place its keys are listed).
const KeyTable<HelmConfig>& helm_keys();
}  // namespace config

}  // namespace outpost
