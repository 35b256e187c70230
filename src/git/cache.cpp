#include "git/cache.hpp"
#include "git/metric_defs.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <random>

#include "core/encoding.hpp"
#include "core/time.hpp"

namespace outpost::git {
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;
namespace {

std::optional<UnixSeconds> to_unix(std::optional<std::chrono::system_clock::time_point> t) {
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

// A uniform draw from [lo, hi] of `interval`.
Millis share_of(Millis interval, double lo, double hi) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> d(lo, hi);
  return Millis(static_cast<Millis::rep>(static_cast<double>(interval.count()) * d(rng)));
}
// The next sync after one that ended: within the interval (push-to-visible without webhooks stays
// under one interval), jittered so that mirrors synced together drift apart.
Millis next_due(Millis interval) {
  return share_of(interval, 0.8, 1.0);
}
// The first sync of a mirror known at start: anywhere in the interval, so hundreds of mirrors
// restored at once do not sync in one burst.
Millis first_due(Millis interval) {
  return share_of(interval, 0.0, 1.0);
}

}  // namespace

GitCache::GitCache(const GitConfig& cfg, const fs::path& data_dir, MetaDb& db,
                   http::HttpClient& client, Metrics& metrics,
                   std::function<GateFn(const RepoId&)> gates, const Clock& clock)
    : cfg_(cfg),
      data_dir_(data_dir),
      gates_(std::move(gates)),
      db_(db),
      client_(client),
      metrics_(metrics),
      syncs_(metrics.counter(metric::git_syncs_total)),
      refresh_waits_(metrics.counter(metric::git_refresh_waits_total)),
      requests_(metrics.counter(metric::git_upstream_requests_total)),
      clock_(clock),
      pool_(static_cast<unsigned>(cfg.max_parallel_syncs)) {
  std::error_code ec;
  fs::remove_all(data_dir_ / "git" / ".staging", ec);  // clones a crash interrupted
  if (auto rows = db_.git_repos()) {
    for (const auto& row : *rows) {
      if (!cfg_.find(row.host)) continue;
      auto m = get_or_create(RepoId{row.host, row.path});
      std::optional<std::chrono::system_clock::time_point> ok;
      if (row.last_success)
        ok = std::chrono::system_clock::time_point(std::chrono::seconds(*row.last_success));
      m->restore(ok, row.last_error);
    }
  }
  metrics.add_collector([this] {
    auto& spawned = metrics_.counter(metric::git_processes_spawned_total);
    for (const auto& [command, n] : git_spawns())
      spawned.set({{"command", command}}, static_cast<double>(n));
  });
  metrics.add_collector([this] {
    auto& age = metrics_.gauge(metric::git_sync_age_seconds);
    auto& up = metrics_.gauge(metric::git_upstream_up);
    MutexLock lock(mu_);
    auto& gated = metrics_.gauge(metric::git_gated_refs);
    std::vector<std::shared_ptr<GitMirror>> all;
    for (auto& [id, m] : mirrors_) {
      all.push_back(m);
      age.set({{"repo", id.key()}}, staleness(*m).value_or(-1));
      if (m->gated())
        gated.set({{"repo", id.key()}}, static_cast<double>(m->status().pending.size()));
    }
    for (const auto& u : cfg_.upstreams) {
      auto it = sources_.find(u.host);
      up.set({{"host", u.host}}, it != sources_.end() && it->second->down() ? 0 : 1);
    }
    auto lag = sync_lag(all);
    metrics_.gauge(metric::git_sync_lag_seconds).set({}, lag.behind);
    metrics_.gauge(metric::git_oldest_sync_seconds).set({}, lag.oldest);
  });
  scheduler_ = std::jthread([this](std::stop_token st) { schedule_loop(st); });
}

GitCache::~GitCache() {
  stop();
}

void GitCache::stop() {
  stopping_ = true;
  scheduler_.request_stop();
}

upstream::SourceList& GitCache::sources(const std::string& host) {
  MutexLock lock(mu_);
  auto& s = sources_[host];
  if (!s) {
    const auto* up = cfg_.find(host);
    static const std::vector<MirrorConfig> none;
    s = std::make_unique<upstream::SourceList>(
        upstream::SourceSpec{up ? up->url : "", upstream::Role::origin, up && up->insecure,
                             up ? up->username : "", up ? up->password : ""},
        up ? up->mirrors : none,
        upstream::BreakerPolicy{cfg_.breaker_min_backoff, cfg_.breaker_max_backoff}, client_,
        stopping_, clock_);
  }
  return *s;
}

std::shared_ptr<GitMirror> GitCache::get_or_create(const RepoId& id) {
  MutexLock lock(mu_);
  auto& m = mirrors_[id];
  if (!m) {
    m = std::make_shared<GitMirror>(id, mirror_dir(data_dir_, id), data_dir_ / "git" / ".staging",
                                    *cfg_.find(id.host), cfg_, clock_);
    if (gates_) m->set_gate(gates_(id));
    next_sync_[id] = clock_.steady_now() + first_due(cfg_.sync_interval);
  }
  return m;
}

std::shared_ptr<GitMirror> GitCache::existing(const RepoId& id) {
  MutexLock lock(mu_);
  auto it = mirrors_.find(id);
  if (it == mirrors_.end() || !it->second->cloned()) return nullptr;
  return it->second;
}

std::optional<double> GitCache::staleness(const GitMirror& m) const {
  auto st = m.status();
  if (!st.last_success) return std::nullopt;
  return std::chrono::duration<double>(clock_.system_now() - *st.last_success).count();
}

Result<std::shared_ptr<GitMirror>> GitCache::prepare(const RepoId& id, http::Reach reach) {
  auto m = get_or_create(id);
  auto& src = sources(id.host);
  auto unreachable = [&] {
    return fail(Errc::upstream_unavailable,
                fmt::format("{} has not been mirrored yet and {} is unreachable ({}); it can be "
                            "served once one sync has succeeded",
                            id.key(), id.host, src.origin().breaker().state().last_error));
  };
  if (!m->cloned()) {
    if (src.down()) return unreachable();
    if (reach == http::Reach::local) return fail(Errc::needs_upstream, "not mirrored yet");
    if (!m->syncing() && !probe(id)) return unreachable();
    run_sync(m);  // the first request waits for the initial clone (joins one in progress)
    if (!m->cloned())
      return fail(Errc::upstream_unavailable,
                  fmt::format("could not mirror {}: {}", id.key(), m->status().last_error));
    return m;
  }
  auto age = staleness(*m);
  bool stale = !age || *age * 1000 >= static_cast<double>(cfg_.sync_interval.count());
  bool pending = false, overdue = false;
  {
    MutexLock lock(mu_);
    pending = queued_[id];
    overdue = overdue_.contains(id.host);
  }
  if (stale && !src.down() && !src.paused() && !m->syncing() && !pending) {
    if (overdue) {
      // An earlier request waited out the budget and no sync of this host has ended since.
      trigger_sync(id, Trigger::poll);
      refresh_waits_.add({{"host", id.host}, {"result", "skipped"}});
      return m;
    }
    if (reach == http::Reach::local) return fail(Errc::needs_upstream, "due for a refresh");
    // Offline-first: wait for a refresh only briefly, only when upstream is believed healthy, and
    // not at all when a sync is already running or queued (it may be stuck behind a dead link:
    // one request waiting out the budget is enough).
    auto gen = m->sync_generation();
    trigger_sync(id, Trigger::poll);
    const bool synced = m->wait_sync_after(gen, cfg_.request_refresh_budget);
    refresh_waits_.add({{"host", id.host}, {"result", synced ? "synced" : "timeout"}});
    if (!synced) {
      MutexLock lock(mu_);
      overdue_.insert(id.host);
    }
  }
  return m;
}

bool GitCache::probe(const RepoId& id) {
  auto& src = sources(id.host);
  auto m = get_or_create(id);
  std::vector<upstream::Hop> order;
  std::map<const upstream::Source*, std::size_t> index;
  for (auto i : src.to_try()) {
    order.push_back({&src.at(i)});
    index[&src.at(i)] = i;
  }
  auto ask = [&](const upstream::Hop& hop) {
    http::ClientRequest req;
    req.url = m->source_url(index[hop.source]) + "/info/refs?service=git-upload-pack";
    req.connect_timeout = cfg_.probe_timeout;
    req.total_timeout = cfg_.probe_timeout;
    requests_.add({{"host", id.host},
                   {"role", std::string(upstream::role_name(hop.source->spec().role))},
                   {"kind", "probe"}});
    return hop.source->send(req);
  };
  // Any HTTP answer (even 401 or an oversized body) proves the source is reachable.
  auto judge = [](const upstream::Hop&, const Result<http::ClientResponse>& r) {
    if (r || (r.error().code != Errc::upstream_unavailable && r.error().code != Errc::timeout))
      return upstream::Judged{upstream::Verdict::answer};
    return upstream::Judged{upstream::Verdict::down, r.error().message};
  };
  return upstream::ask_in_order<http::ClientResponse>(order, ask, judge, "git " + id.host).answered;
}

bool GitCache::trigger_sync(const RepoId& id, Trigger why) {
  std::shared_ptr<GitMirror> m;
  {
    MutexLock lock(mu_);
    auto it = mirrors_.find(id);
    if (it == mirrors_.end()) return false;
    m = it->second;
    if (why == Trigger::push) pushed_.insert(id);
    // A sync already running (or queued) may have read upstream before this trigger (a webhook
    // for a push it did not see): one more sync follows it.
    if (queued_[id] || m->syncing()) again_[id] = true;
    if (queued_[id]) return true;
    queued_[id] = true;
  }
  pool_.post([this, m] {
    for (;;) {
      Trigger trigger = Trigger::poll;
      {
        MutexLock lock(mu_);
        if (pushed_.erase(m->id())) trigger = Trigger::push;
      }
      run_sync(m, trigger);  // joins a sync already running
      MutexLock lock(mu_);
      if (!again_[m->id()] || stopping_) {
        queued_[m->id()] = false;
        return;
      }
      again_[m->id()] = false;
    }
  });
  return true;
}

void GitCache::set_cluster(cluster::Cluster* cluster) {
  cluster_ = cluster && cluster->enabled() ? cluster : nullptr;
}

namespace {

std::string owner_key(const RepoId& id) {
  return "git/" + id.key();
}

}  // namespace

bool GitCache::ask_peer_sync(const cluster::PeerRef& peer, const RepoId& id) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = "/api/v1/cluster/git-sync";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = nlohmann::json({{"repo", id.key()}}).dump();
  auto r = cluster_->send(peer, std::move(req));
  return r && r->status >= 200 && r->status < 300;
}

bool GitCache::push_event(const RepoId& id) {
  if (cluster_)
    for (const auto& owner : cluster_->ahead_of_self(owner_key(id))) {
      if (ask_peer_sync(owner, id)) {
        spdlog::info("git: push to {} passed to its owner {}", id.key(), owner.source->url());
        return true;
      }
    }
  return trigger_sync(id, Trigger::push);
}

void GitCache::notify_peers(const RepoId& id) {
  if (!cluster_ || !cluster_->ahead_of_self(owner_key(id)).empty()) return;  // owners only
  pool_.post([this, id] {
    for (const auto& peer : cluster_->live_peers())
      if (!stopping_ && !ask_peer_sync(peer, id))
        spdlog::warn("git: peer {} did not take a sync of {}", peer.source->url(), id.key());
  });
}

Result<SyncOutcome> GitCache::checked_sync(GitMirror& m, const GitMirror::Attempt& attempt,
                                           GitMirror::From from, const SendFn& send,
                                           std::string_view role, upstream::Source* source) {
  const auto& host = m.id().host;
  const std::string role_label(role);
  from.read_refs = [&]() -> Result<std::optional<RefAdvert>> {
    auto check = check_refs(send, from.url, cfg_, stopping_, clock_);
    requests_.add({{"host", host}, {"role", role_label}, {"kind", "ref_check"}});
    if (!check) return std::unexpected(check.error());
    if (check->pause && source) {
      source->pause_for(*check->pause);
      return fail(Errc::upstream_error,
                  fmt::format("asked to be left alone for {} s (HTTP {})",
                              std::chrono::ceil<std::chrono::seconds>(*check->pause).count(),
                              check->status));
    }
    return std::move(check->advert);
  };
  auto r = attempt(from);
  if (r && !r->unchanged) requests_.add({{"host", host}, {"role", role_label}, {"kind", "fetch"}});
  return r;
}

GitMirror::From GitCache::peer_from(const RepoId& id, const upstream::Source& peer) const {
  const auto& url = peer.url();
  GitMirror::From from{url + "/git/" + id.key(), url, "", {}};
  from.config.emplace_back("http." + url + "/.extraHeader",
                           std::string(cluster::kPeerHeader) + ": " + cluster_->self());
  if (auto token = cluster_->authorization())
    from.config.emplace_back("http." + url + "/.extraHeader", "Authorization: " + *token);
  return from;
}

std::optional<std::string> GitCache::passed_over(upstream::Source& s, Trigger why) {
  if (s.spec().role == upstream::Role::peer) return std::nullopt;
  if (auto left = s.paused(); left > Millis(0) && why == Trigger::poll)
    return fmt::format("asked to be left alone ({} s more)",
                       std::chrono::ceil<std::chrono::seconds>(left).count());
  // While a host is down, syncs queued for its repositories fail at once and one probe decides
  // (never a dial per queued sync, each doubling the backoff).
  if (s.breaker().is_open() && !s.breaker().claim_probe())
    return "is down (" + s.breaker().state().last_error + ")";
  return std::nullopt;
}

upstream::Judged GitCache::judge_sync(const upstream::Source& s, const Result<SyncOutcome>& r) {
  using upstream::Verdict;
  if (r) return {Verdict::answer};
  const auto& why = r.error().message;
  if (r.error().code == Errc::upstream_error && s.paused() > Millis(0))
    return {Verdict::not_here, why};  // it asked to be left alone (429)
  if (r.error().code != Errc::upstream_unavailable && r.error().code != Errc::timeout)
    return {Verdict::stop};
  // A peer's failed sync is its upstream's trouble; a mirror without this one repository is no
  // outage of the mirror: the other repositories of the host keep using it.
  if (s.spec().role == upstream::Role::peer) return {Verdict::not_here, "failed: " + why};
  if (s.spec().role == upstream::Role::mirror &&
      (why.find("not found") != std::string::npos || why.find(" 404") != std::string::npos))
    return {Verdict::not_here, "does not have it: " + why};
  return {Verdict::down, why};
}

Result<SyncOutcome> GitCache::sync_from_sources(GitMirror& m, Trigger why,
                                                const GitMirror::Attempt& attempt) {
  auto& src = sources(m.id().host);
  // In a cluster, from the owners' mirrors first (only the owner syncs from the sources), then
  // the host's sources in order.
  std::vector<upstream::Hop> order;
  if (cluster_)
    for (const auto& p : cluster_->ahead_of_self(owner_key(m.id()))) order.push_back({p.source});
  std::map<const upstream::Source*, std::size_t> index;
  for (std::size_t i = 0; i < src.size(); ++i) {
    order.push_back({&src.at(i)});
    index[&src.at(i)] = i;
  }
  std::string failover;  // every source passed over, and why (the mirror's status names them)
  std::optional<std::string> skipped;
  std::string last_skip;
  auto ask = [&](const upstream::Hop& hop) -> Result<SyncOutcome> {
    auto& s = *hop.source;
    if ((skipped = passed_over(s, why))) {
      last_skip = fmt::format("{} {}", s.url(), *skipped);
      return fail(Errc::upstream_unavailable, last_skip);
    }
    if (s.spec().role == upstream::Role::peer) {
      auto from = peer_from(m.id(), s);
      from.failover = failover;
      SendFn send = [&](http::ClientRequest req) {
        req.url = req.url.substr(s.url().size());  // the peer's path
        return cluster_->request(s, std::move(req));
      };
      return checked_sync(m, attempt, from, send, "peer", nullptr);
    }
    SendFn send = [&](http::ClientRequest req) {
      return s.send(std::move(req), nullptr, [&] { return s.basic_authorization(); });
    };
    const auto role = upstream::role_name(s.spec().role);
    return checked_sync(m, attempt, {m.source_url(index[&s]), s.url(), failover}, send, role, &s);
  };
  auto judge = [&](const upstream::Hop& hop, const Result<SyncOutcome>& r) -> upstream::Judged {
    const auto& s = *hop.source;
    auto j = skipped ? upstream::Judged{upstream::Verdict::pass, *skipped} : judge_sync(s, r);
    if (j.verdict != upstream::Verdict::answer && j.verdict != upstream::Verdict::stop)
      failover += fmt::format("{}{} {} {}{}", failover.empty() ? "" : "; ",
                              upstream::role_name(s.spec().role), s.url(),
                              j.verdict == upstream::Verdict::down ? "failed: " : "", j.why);
    if (j.verdict == upstream::Verdict::answer && !failover.empty())
      spdlog::warn("git: {} synced from {} ({})", m.id().key(), s.url(), failover);
    return j;
  };
  auto asked = upstream::ask_in_order<SyncOutcome>(order, ask, judge, "git " + m.id().key(),
                                                   upstream::Fallback::last);
  if (!asked.by && !last_skip.empty())  // every source passed over: the last one says why
    return fail(Errc::upstream_unavailable, last_skip);
  return std::move(asked.outcome);
}

void GitCache::run_sync(std::shared_ptr<GitMirror> m, Trigger why) {
  if (stopping_) return;
  bool was_cloned = m->cloned();
  auto r = m->sync(stopping_, [&](const GitMirror::Attempt& attempt) {
    return sync_from_sources(*m, why, attempt);
  });
  syncs_.add({{"host", m->id().host},
              {"result", !r             ? "error"
                         : r->unchanged ? "unchanged"
                                        : "ok"}});
  {
    MutexLock lock(mu_);
    next_sync_[m->id()] = clock_.steady_now() + next_due(cfg_.sync_interval);
    overdue_.erase(m->id().host);  // the host answered (or failed): requests may wait again
  }
  auto st = m->status();
  (void)db_.put_git_repo({m->id().host, m->id().path, to_unix(st.last_success), st.last_error});
  if (r && was_cloned && !r->moved.empty()) {
    spdlog::info("git: {} moved {} refs", m->id().key(), r->moved.size());
    notify_argocd(*m, *r);
    notify_peers(m->id());
  }
}

std::vector<RepoId> GitCache::due_syncs() {
  std::vector<std::pair<SteadyClock::time_point, RepoId>> due;
  std::vector<RepoId> out;
  const std::size_t bound = 2 * static_cast<std::size_t>(std::max(1, cfg_.max_parallel_syncs));
  MutexLock lock(mu_);
  const auto now = clock_.steady_now();
  std::size_t waiting = 0;
  for (auto& [id, m] : mirrors_) {
    if (queued_[id]) ++waiting;
    if (!m->cloned() || now < next_sync_[id] || queued_[id]) continue;
    auto s = sources_.find(id.host);
    if (s != sources_.end()) {
      // While a host is down, background syncs double as its probe, at the origin's backoff.
      if (s->second->down() && !s->second->origin().breaker().probe_due()) continue;
      if (s->second->paused()) continue;  // every source asked for a pause (429)
    }
    due.emplace_back(next_sync_[id], id);
  }
  std::sort(due.begin(), due.end());
  for (auto& [at, id] : due) {
    if (waiting + out.size() >= bound) break;
    out.push_back(std::move(id));
  }
  return out;
}

void GitCache::schedule_loop(std::stop_token st) {
  while (!st.stop_requested()) {
    for (const auto& id : due_syncs()) trigger_sync(id, Trigger::poll);
    sleep_unless_stopped(st, std::chrono::milliseconds(250));
  }
}

void GitCache::notify_argocd(const GitMirror& m, const SyncOutcome& out) {
  if (cfg_.argocd_webhook.empty() || cfg_.public_url.empty()) return;
  auto url = cfg_.public_url + "/git/" + m.id().key();
  auto head = m.status().head;
  for (const auto& mv : out.moved) {
    if (!mv.ref.starts_with("refs/heads/") && !mv.ref.starts_with("refs/tags/")) continue;
    const std::string zero(40, '0');
    nlohmann::json payload = {
        {"ref", mv.ref},
        {"before", mv.before.empty() ? zero : mv.before},
        {"after", mv.after.empty() ? zero : mv.after},
        {"repository",
         {{"html_url", url},
          {"clone_url", url + ".git"},
          {"full_name", m.id().path},
          {"default_branch", head.starts_with("refs/heads/") ? head.substr(11) : head}}},
        {"commits", nlohmann::json::array()}};
    http::ClientRequest req;
    req.method = "POST";
    req.url = cfg_.argocd_webhook;
    req.body = payload.dump();
    req.headers = {{"Content-Type", "application/json"}, {"X-GitHub-Event", "push"}};
    if (!cfg_.webhook_secret.empty())
      req.headers.emplace_back("X-Hub-Signature-256",
                               "sha256=" + hmac_sha256_hex(cfg_.webhook_secret, req.body));
    req.total_timeout = std::chrono::seconds(10);
    auto r = client_.perform(req);
    if (!r || r->status >= 300)
      spdlog::warn("git: notifying Argo CD of {} {} failed: {}", m.id().key(), mv.ref,
                   r ? fmt::format("HTTP {}", r->status) : r.error().message);
  }
}

GitCache::Lag GitCache::sync_lag(const std::vector<std::shared_ptr<GitMirror>>& mirrors) const {
  Lag lag;
  const double interval = std::chrono::duration<double>(cfg_.sync_interval).count();
  for (const auto& m : mirrors) {
    auto age = staleness(*m);
    if (!age) {
      ++lag.never;
      continue;
    }
    lag.oldest = std::max(lag.oldest, *age);
  }
  lag.behind = std::max(0.0, lag.oldest - interval);
  return lag;
}

std::vector<upstream::UpstreamHealth> GitCache::health() {
  std::vector<upstream::UpstreamHealth> out;
  for (const auto& u : cfg_.upstreams)
    out.push_back(upstream::upstream_health("git", u.host, sources(u.host).health()));
  return out;
}

std::string GitCache::status_json() {
  std::vector<std::shared_ptr<GitMirror>> all;
  {
    MutexLock lock(mu_);
    for (auto& [id, m] : mirrors_) all.push_back(m);
  }
  nlohmann::json arr = nlohmann::json::array();
  for (auto& m : all) {
    auto st = m->status();
    auto age = staleness(*m);
    arr.push_back(
        {{"repo", m->id().key()},
         {"upstream", m->upstream_url()},
         {"cloned", m->cloned()},
         {"syncing", m->syncing()},
         {"last_sync", iso8601(st.last_success)},
         {"last_attempt", iso8601(st.last_attempt)},
         {"last_error", st.last_error},
         {"synced_from", st.synced_from},
         {"failover", st.failover},
         {"stale_seconds", age ? nlohmann::json(*age) : nlohmann::json(nullptr)},
         {"ref_count", st.ref_count},
         {"head", st.head},
         {"head_commit", st.head_commit},
         {"gated", m->gated()},
         {"pending",
          [&] {
            auto p = nlohmann::json::array();
            for (const auto& r : st.pending)
              p.push_back({{"ref", r.ref}, {"commit", r.commit}, {"waiting_for", r.waiting_for}});
            return p;
          }()},
         {"bytes", m->disk_bytes()}});
  }
  auto lag = sync_lag(all);
  return nlohmann::json({{"repos", arr},
                         {"oldest_sync_seconds", lag.oldest},
                         {"sync_lag_seconds", lag.behind},
                         {"never_synced", lag.never}})
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace outpost::git
