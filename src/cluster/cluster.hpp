#pragma once
// The replicas of one site as a cache array (docs/cluster.md). Membership is this replica (its
// advertise URL) plus the configured peers or the A/AAAA records of peers_dns, re-resolved every
// dns_interval through the system resolver; nothing is gossiped or agreed on. Each peer is an
// upstream::Source (role peer) with its own breaker: a peer that fails or sends content that does
// not verify is skipped until a background probe (GET /healthz) finds it answering. The owner of
// a key (a digest) is the first live member in rendezvous order; a replica asks the members
// ranked ahead of itself, and goes to its upstream sources itself once it comes to its own rank.
// Requests to peers carry kPeerHeader (an owner never forwards a peer's request to a third
// replica) and the peer token (the first auth token in group `peer`). Thread-safe.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/config.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "http/config.hpp"
#include "upstream/source.hpp"

namespace outpost::cluster {

// Request header marking a request from a peer replica; its value is the sender's advertise URL.
inline constexpr const char* kPeerHeader = "X-Outpost-Peer";

// On a peer request: answer from what this replica holds, never from upstream (404 otherwise).
inline constexpr const char* kPeerLocalHeader = "X-Outpost-Peer-Local";
// On a peer request: keep a copy of this (taking it from the peers that hold it), so content
// survives the loss of any one replica. For a tag, the value is the digest the sender resolved.
inline constexpr const char* kPeerKeepHeader = "X-Outpost-Peer-Keep";

// What a request's headers say about a peer replica asking: from_peer (kPeerHeader), held_only
// (also kPeerLocalHeader: answer from local state, 404 rather than a wait on upstream).
struct PeerRequest {
  bool from_peer = false, held_only = false;
};
inline PeerRequest peer_request(const http::Headers& h) {
  const bool from = h.get(kPeerHeader).has_value();
  return {from, from && h.get(kPeerLocalHeader).has_value()};
}

// A peer by its stable id (ids are never reused while the process runs).
struct PeerRef {
  std::size_t id;
  upstream::Source* source;
};

// How a replica asks its peers for content by digest: a client's request goes to the owners
// ahead of this replica, then to the other peers for what they hold; a peer's request only to
// the peers for what they hold (never to an owner: no request is forwarded twice).
enum class Asking { none, owners_first, holders_only };

// One step of asking the cluster for a key: a peer, and whether only what it holds is wanted.
struct PeerAsk {
  PeerRef peer;
  bool held_only;
};

struct PeerHealth {
  upstream::SourceHealth source;  // url, up/down, since, last error, bytes received from it
  bool member = true;             // false: no longer in peers_dns (kept for its counters)
};

class Cluster {
 public:
  // host, port → replica URLs ("http://10.0.0.7:8080"); the default uses getaddrinfo.
  using Resolve = std::function<Result<std::vector<std::string>>(const std::string& host,
                                                                 const std::string& port)>;
  Cluster(const ClusterConfig& cfg, const AuthConfig& auth, http::HttpClient& client,
          const Clock& clock = Clock::system(), Resolve resolve = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  bool enabled() const { return cfg_.enabled(); }
  const std::string& self() const { return cfg_.advertise; }
  // "Bearer …" of the peer token, for callers that reach peers other than through send() (git).
  const std::optional<std::string>& authorization() const { return token_; }

  // Starts the background thread (DNS refresh, probes of failed peers). Idempotent.
  void start();
  void stop();
  // Re-reads membership now (peers_dns), as the background thread does every dns_interval.
  void refresh_members();

  // The live peers ranked ahead of this replica for `key`, owner first; empty when this replica
  // owns the key among the live members, or the cluster is off.
  std::vector<PeerRef> ahead_of_self(std::string_view key) const;
  // Whom to ask for `key` before the upstream sources: with owners_first, the live owners ahead
  // of this replica (they fetch upstream when they lack it), then every other live peer for what
  // it already holds (a replica that lost its disk, or whose upstream is down, refills from its
  // peers); with holders_only, every live peer for what it holds.
  std::vector<PeerAsk> ask_order(std::string_view key, Asking asking) const;
  // Every live peer, in membership order.
  std::vector<PeerRef> live_peers() const;
  // Probes now every member whose breaker is open, not waiting for its backoff: a replica that
  // finds no live peer where it needs one (a peer restarted within the backoff, and now asking
  // it for something) asks again first. Returns how many answered. Bounded by peer_timeout each.
  std::size_t probe_down_now();
  // The live peer ranked highest for `key` (this replica left out): the second copy of what this
  // replica fetched as the owner.
  std::optional<PeerRef> first_peer(std::string_view key) const;
  // Whether this replica is the first member for `key` in rendezvous order, live or not (status:
  // the share of content this replica owns).
  bool owns(std::string_view key) const;

  // Sends `req` (a path) to peer `p` with the marker and the peer token, bounded by peer_timeout
  // to connect (and in all, unless `req` sets its own total or stall bound: a peer that fetches
  // upstream for the request needs more); records the outcome in the peer's breaker (transport
  // failures and 5xx open it).
  // With `held_only`, the peer answers from what it holds.
  Result<http::ClientResponse> send(const PeerRef& p, http::ClientRequest req,
                                    http::BodySink* sink = nullptr, bool held_only = false);
  // send() without recording the outcome: for the ask-in-order engine, which records it.
  Result<http::ClientResponse> request(upstream::Source& peer, http::ClientRequest req,
                                       http::BodySink* sink = nullptr, bool held_only = false);
  // Bytes this replica served to peers (counted by the handlers that answer them).
  void add_served(std::uint64_t n) { served_ += n; }
  std::uint64_t served_bytes() const { return served_; }
  std::vector<PeerHealth> health() const;

 private:
  std::size_t id_for(const std::string& url) REQUIRES(mu_);
  void set_members(std::vector<std::string> urls);
  void loop(std::stop_token st);
  void probe_due();
  void probe(upstream::Source& src);

  const ClusterConfig& cfg_;
  http::HttpClient& client_;
  const Clock& clock_;
  Resolve resolve_;
  std::optional<std::string> token_;  // "Bearer …" for peers
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> served_{0};
  mutable Mutex mu_;
  std::vector<std::unique_ptr<upstream::Source>> peers_ GUARDED_BY(mu_);  // by id, append-only
  std::map<std::string, std::size_t> by_url_ GUARDED_BY(mu_);
  std::vector<std::size_t> members_ GUARDED_BY(mu_);  // current peer ids (never this replica)
  std::jthread thread_;
};

}  // namespace outpost::cluster
