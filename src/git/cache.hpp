#pragma once
// The Git pull-through cache: the set of mirrors, their background sync scheduler (interval +
// jitter, limited parallelism), the sources of each upstream host (its mirrors, e.g. a regional
// Outpost, then the origin; a circuit breaker each; a sync fetches from the first that answers),
// and the offline-first policy for requests: ref discovery is answered from local refs, waiting
// for a refresh only within request_refresh_budget and only while some source is up.
// Thread-safe.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/cluster.hpp"
#include "core/circuit_breaker.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/thread_pool.hpp"
#include "core/time.hpp"
#include "git/mirror.hpp"
#include "http/client.hpp"
#include "store/meta_db.hpp"
#include "upstream/source_list.hpp"

namespace outpost::git {

class GitCache {
 public:
  // `gates` gives the gate for a repository (empty function: not gated); `clock` times the
  // sources' breakers (their backoff, when a probe is due).
  GitCache(const GitConfig& cfg, const std::filesystem::path& data_dir, MetaDb& db,
           http::HttpClient& client, Metrics& metrics,
           std::function<GateFn(const RepoId&)> gates = {}, const Clock& clock = Clock::system());
  ~GitCache();
  GitCache(const GitCache&) = delete;
  GitCache& operator=(const GitCache&) = delete;

  // The mirror for `id`, ready to serve: a first request clones (waiting up to clone_wait); a
  // stale mirror is refreshed within the budget when upstream is healthy. Errors carry a message
  // meant for the git client's user. With Reach::local, Errc::needs_upstream instead of a clone or
  // a wait for a refresh.
  Result<std::shared_ptr<GitMirror>> prepare(const RepoId& id,
                                             http::Reach reach = http::Reach::upstream);
  // The mirror if it exists and is cloned (no upstream contact).
  std::shared_ptr<GitMirror> existing(const RepoId& id);
  // Queues an immediate background sync (webhooks): one that starts after this call, also when a
  // sync is already running or queued. False if the repository is not mirrored.
  bool trigger_sync(const RepoId& id);
  // In a site cluster (docs/cluster.md) only a repository's owner syncs from the upstream
  // sources; the other replicas sync from the owner's mirror, and the owner tells the live peers
  // to sync after a sync that moved refs. Call before any sync; null or a disabled cluster: off.
  void set_cluster(cluster::Cluster* cluster);
  // A push event (a webhook): in a cluster it goes to the repository's owner, which syncs and then
  // tells the others; otherwise (or when the owner cannot be told) a sync here. False if the
  // repository is not mirrored here and no owner took it.
  bool push_event(const RepoId& id);
  // Seconds since the last successful sync (nullopt: never).
  std::optional<double> staleness(const GitMirror& m) const;

  std::string status_json();
  std::vector<UpstreamHealth> health();
  void stop();

 private:
  std::shared_ptr<GitMirror> get_or_create(const RepoId& id);
  void schedule_loop(std::stop_token st);
  void run_sync(std::shared_ptr<GitMirror> m);
  // One sync of `m` from the first of its host's sources that answers; each that fails has its
  // breaker opened and is named in the mirror's status (failover).
  Result<SyncOutcome> sync_from_sources(GitMirror& m);
  void notify_argocd(const GitMirror& m, const SyncOutcome& out);
  // The owner tells every live peer to sync `id` now (POST /api/v1/cluster/git-sync).
  void notify_peers(const RepoId& id);
  // Asks `peer` to sync `id` now; true when it took the request.
  bool ask_peer_sync(const cluster::PeerRef& peer, const RepoId& id);
  // The sources of a host (mirrors, then the origin; a breaker each), created on first use.
  upstream::SourceList& sources(const std::string& host);
  // Quick reachability check of the host's sources in order (probe_timeout); opens the breaker
  // of each that fails. True when one answers.
  bool probe(const RepoId& id);

  const GitConfig& cfg_;
  cluster::Cluster* cluster_ = nullptr;
  const std::filesystem::path data_dir_;
  std::function<GateFn(const RepoId&)> gates_;
  MetaDb& db_;
  http::HttpClient& client_;
  Metrics& metrics_;
  MetricFamily& syncs_;
  MetricFamily& refresh_waits_;
  const Clock& clock_;
  std::atomic<bool> stopping_{false};

  Mutex mu_;
  std::map<RepoId, std::shared_ptr<GitMirror>> mirrors_ GUARDED_BY(mu_);
  std::map<RepoId, std::chrono::steady_clock::time_point> next_sync_ GUARDED_BY(mu_);
  std::map<RepoId, bool> queued_ GUARDED_BY(mu_);
  std::map<RepoId, bool> again_ GUARDED_BY(mu_);  // a trigger came while a sync ran or was queued
  // Hosts for which a request waited out request_refresh_budget without a sync ending: until a
  // sync of the host ends (the upstream answered, or failed for good), requests answer from the
  // mirrors at once — a hung upstream costs one request the budget, not every request.
  std::set<std::string> overdue_ GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<upstream::SourceList>> sources_ GUARDED_BY(mu_);

  ThreadPool pool_;  // background syncs
  std::jthread scheduler_;
};

}  // namespace outpost::git
