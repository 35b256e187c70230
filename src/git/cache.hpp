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
#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/thread_pool.hpp"
#include "core/time.hpp"
#include "git/config.hpp"
#include "git/mirror.hpp"
#include "git/ref_check.hpp"
#include "http/client.hpp"
#include "store/meta_db.hpp"
#include "upstream/ask.hpp"
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
  // Why a sync runs. A push (a webhook, or the owner's notice in a cluster) syncs at once, also
  // from a source that asked to be left alone (429); polls (the schedule, a request finding the
  // mirror due) wait until that source's pause is over.
  enum class Trigger { poll, push };
  // Queues an immediate background sync: one that starts after this call, also when a sync is
  // already running or queued. False if the repository is not mirrored.
  bool trigger_sync(const RepoId& id, Trigger why = Trigger::push);
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

  // How far behind the mirrors are: the oldest successful sync's age, how much of it is past one
  // interval (0 while every mirror keeps its schedule), and mirrors never synced.
  struct Lag {
    double oldest = 0, behind = 0;
    std::size_t never = 0;
  };
  Lag sync_lag(const std::vector<std::shared_ptr<GitMirror>>& mirrors) const;

  std::string status_json();
  std::vector<upstream::UpstreamHealth> health();
  void stop();

 private:
  std::shared_ptr<GitMirror> get_or_create(const RepoId& id);
  void schedule_loop(std::stop_token st);
  void run_sync(std::shared_ptr<GitMirror> m, Trigger why = Trigger::poll);
  // The mirrors due for a background sync, most overdue first, no more than the pool's bound
  // allows to wait in its queue.
  std::vector<RepoId> due_syncs();
  // One sync of `m` from the first of its host's sources that answers; each that fails has its
  // breaker opened and is named in the mirror's status (failover).
  Result<SyncOutcome> sync_from_sources(GitMirror& m, Trigger why,
                                        const GitMirror::Attempt& attempt);
  // Git config for syncing `id` from a peer replica's mirror (its token and the peer marker).
  GitMirror::From peer_from(const RepoId& id, const upstream::Source& peer) const;
  // Why a sync does not ask source `s` now (nullopt: it does): a poll while the source asked to
  // be left alone (429), or an open breaker whose probe another caller holds.
  static std::optional<std::string> passed_over(upstream::Source& s, Trigger why);
  // What a sync's outcome from `s` means (the engine's verdict for Git).
  static upstream::Judged judge_sync(const upstream::Source& s, const Result<SyncOutcome>& r);
  // Reads the source's ref advertisement (one request), then syncs `m` from it: nothing more when
  // it did not change. A source that asks for a pause (429) is paused and not synced from.
  Result<SyncOutcome> checked_sync(GitMirror& m, const GitMirror::Attempt& attempt,
                                   GitMirror::From from, const SendFn& send, std::string_view role,
                                   upstream::Source* source);
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
  MetricFamily& requests_;  // upstream requests by host, source role and kind
  const Clock& clock_;
  std::atomic<bool> stopping_{false};

  Mutex mu_;
  std::map<RepoId, std::shared_ptr<GitMirror>> mirrors_ GUARDED_BY(mu_);
  std::map<RepoId, std::chrono::steady_clock::time_point> next_sync_ GUARDED_BY(mu_);
  std::map<RepoId, bool> queued_ GUARDED_BY(mu_);
  std::map<RepoId, bool> again_ GUARDED_BY(mu_);  // a trigger came while a sync ran or was queued
  std::set<RepoId> pushed_ GUARDED_BY(mu_);       // a push is waiting for the next sync
  // Hosts for which a request waited out request_refresh_budget without a sync ending: until a
  // sync of the host ends (the upstream answered, or failed for good), requests answer from the
  // mirrors at once — a hung upstream costs one request the budget, not every request.
  std::set<std::string> overdue_ GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<upstream::SourceList>> sources_ GUARDED_BY(mu_);

  ThreadPool pool_;  // background syncs
  std::jthread scheduler_;
};

}  // namespace outpost::git
