#pragma once
// Client authentication and authorization for every request (installed as the server's guard).
// A request's group comes from its route (the one route table, in `outpost serve`, declares each
// route's Access); groups in auth.require need a bearer token or an htpasswd user that lists it.
// Admin requests are never open to the network by default: only loopback peers may use them without
// a credential (auth.admin_from_loopback). Webhooks are checked by their own HMAC/token
// (git.webhook_secret); without a secret they are accepted from loopback peers only. Thread-safe.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/mutex.hpp"
#include "http/config.hpp"
#include "http/message.hpp"

namespace outpost::http {

using Group = AuthGroup;

// The access rule of a route: one group, or (the API) one to read (GET, HEAD) and one to change.
struct Access {
  Group read;
  Group write;
  static constexpr Access only(Group g) { return {g, g}; }
  Group group_for(std::string_view method) const {
    return method == "GET" || method == "HEAD" ? read : write;
  }
};
// Whether a peer address ("127.0.0.1:5000", "[::1]:5000", "::ffff:127.0.0.1:5000") is this
// host's own loopback address: 127.0.0.1 or ::1 only. Other 127/8 addresses are not trusted: a
// service-mesh sidecar delivers every client's request from one (Istio: 127.0.0.6).
bool is_loopback_peer(std::string_view remote);

// Prefix of every header replicas of a site cluster send each other (cluster/cluster.hpp).
inline constexpr std::string_view kPeerHeaderPrefix = "X-Outpost-Peer";

class Authorizer {
 public:
  // `webhook_secret` (git.webhook_secret): when empty, webhooks are taken from loopback only.
  // `cluster_enabled`: peer headers are honoured at all (cluster.peers or peers_dns is set).
  Authorizer(const AuthConfig& cfg, std::string webhook_secret, bool cluster_enabled);
  // nullopt: go on. Otherwise the refusal (401 with a challenge, or 403), in the group's format.
  // `g`: the group of the request's route. Peer headers (kPeerHeaderPrefix) are removed from
  // `req` unless a cluster is configured and the request carries a credential in group `peer`:
  // the peer token is what admits a replica, never the headers themselves.
  std::optional<Response> check(Request& req, Group g);

 private:
  // The groups the request's credential grants; nullopt when it carries none or a wrong one.
  std::optional<std::vector<Group>> credential(const Request& req, bool& presented);
  // Drops the peer headers of a request that is not from an admitted peer replica.
  void vet_peer_headers(Request& req);
  bool verify_password(const std::string& user, const std::string& password);

  const AuthConfig& cfg_;
  const std::string webhook_secret_;
  const bool cluster_enabled_;
  Mutex mu_;
  // SHA-256 of "user:password" verified recently (crypt(3) is slow on purpose).
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> verified_ GUARDED_BY(mu_);
};

}  // namespace outpost::http
