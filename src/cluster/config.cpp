#include "cluster/config.hpp"

#include <fmt/format.h>

namespace outpost::config {

namespace {

// An http(s)://host[:port] URL with no path, as a replica is reached.
void check_replica_url(const Section& s, const std::string& key, const std::string& url) {
  auto rest = url.starts_with("http://")    ? std::string_view(url).substr(7)
              : url.starts_with("https://") ? std::string_view(url).substr(8)
                                            : std::string_view();
  if (rest.empty() || rest.find('/') != std::string_view::npos)
    bad(s.origin(), key, fmt::format("'{}' is not an http(s)://host:port URL", url));
}

}  // namespace

const KeyTable<ClusterConfig>& cluster_keys() {
  using K = ClusterConfig;
  static const KeyTable<K> t{
      {"advertise",
       [](const Section& s, std::string_view k, K& c) {
         s.str(k, c.advertise);
         check_replica_url(s, s.key(k), c.advertise);
       }},
      {"peers",
       [](const Section& s, std::string_view k, K& c) {
         c.peers = s.strings(k, "replica URLs");
         for (std::size_t i = 0; i < c.peers.size(); ++i) {
           while (c.peers[i].ends_with('/')) c.peers[i].pop_back();
           check_replica_url(s, fmt::format("{}[{}]", s.key(k), i), c.peers[i]);
         }
       }},
      {"peers_dns",
       [](const Section& s, std::string_view k, K& c) {
         s.str(k, c.peers_dns);
         auto colon = c.peers_dns.rfind(':');
         if (colon == std::string::npos || colon == 0 || colon + 1 == c.peers_dns.size())
           bad(s.origin(), s.key(k), "must be host:port (a headless Service name and its port)");
       }},
      config::duration_key("dns_interval", &K::dns_interval),
      config::duration_key("peer_timeout", &K::peer_timeout),
      config::duration_key("breaker_min_backoff", &K::breaker_min_backoff),
      config::duration_key("breaker_max_backoff", &K::breaker_max_backoff),
  };
  return t;
}

}  // namespace outpost::config
