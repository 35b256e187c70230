#pragma once
// The cluster section of the config (cluster.*): this replica, its peers, their bounds.
#include <string>
#include <vector>
#include "core/config_section.hpp"
#include "core/duration.hpp"

namespace outpost {

// Replicas of one site that fill from each other (docs/cluster.md): each digest has an owner among
// the live replicas (rendezvous hashing); a replica that misses asks the owner, which fetches from
// the upstream sources once. Off unless peers or peers_dns is given.
struct ClusterConfig {
  // How peers reach this replica, http(s)://host:port. Default: OUTPOST_ADVERTISE, or
  // http://$POD_IP:<listen port>.
  std::string advertise;
  std::vector<std::string> peers;  // replica URLs (this replica's own is skipped)
  std::string peers_dns;           // host:port whose A/AAAA records are the replicas
  Millis dns_interval = std::chrono::seconds(5);
  Millis peer_timeout = std::chrono::seconds(2);  // connect and metadata bound for peer calls
  Millis breaker_min_backoff = std::chrono::seconds(1);
  Millis breaker_max_backoff = std::chrono::seconds(30);

  bool enabled() const { return !peers.empty() || !peers_dns.empty(); }
};

namespace config {
// The `cluster` section's key table (the one place its keys are listed).
const KeyTable<ClusterConfig>& cluster_keys();
}  // namespace config

}  // namespace outpost
