#include "helm/config.hpp"

#include "upstream/config_keys.hpp"

namespace outpost::config {

const KeyTable<HelmConfig>& helm_keys() {
  using H = HelmConfig;
  static const KeyTable<H> t{
      config::duration_key("refresh_interval", &H::refresh_interval),
      config::duration_key("request_refresh_budget", &H::request_refresh_budget),
      config::duration_key("fetch_timeout", &H::fetch_timeout),
      config::duration_key("stall_timeout", &H::stall_timeout),
      config::duration_key("breaker_min_backoff", &H::breaker_min_backoff),
      config::duration_key("breaker_max_backoff", &H::breaker_max_backoff),
      config::integer_key("max_index_bytes", &H::max_index_bytes, std::size_t{1024}),
      config::integer_key("max_chart_bytes", &H::max_chart_bytes, std::size_t{1024}),
      host_upstreams_key<H>("helm"),
  };
  return t;
}

}  // namespace outpost::config

namespace outpost {

const HostUpstreamConfig* HelmConfig::find(std::string_view host) const {
  for (const auto& u : upstreams)
    if (u.host == host) return &u;
  return nullptr;
}

}  // namespace outpost
