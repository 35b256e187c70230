#include "git/cache.hpp"

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

std::uint64_t dir_bytes(const fs::path& p) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(p, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

SteadyClock::duration jittered(Millis interval) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<long> d(0, std::max<long>(1, interval.count() / 10));
  return interval + Millis(d(rng));
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
      syncs_(metrics.counter("outpost_git_syncs_total", "Git mirror syncs by host and result")),
      refresh_waits_(metrics.counter(
          "outpost_git_refresh_waits_total",
          "Requests that waited for a refresh of a due mirror, by host and result (synced, "
          "timeout: the budget ran out; skipped: an earlier request's wait ran out)")),
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
    auto& age = metrics_.gauge("outpost_git_sync_age_seconds",
                               "Seconds since each mirror last synced successfully (-1: never)");
    auto& up = metrics_.gauge("outpost_git_upstream_up", "1 when the git host is reachable");
    MutexLock lock(mu_);
    auto& gated = metrics_.gauge("outpost_git_gated_refs",
                                 "Upstream refs held back until what their commit needs is local");
    for (auto& [id, m] : mirrors_) {
      age.set({{"repo", id.key()}}, staleness(*m).value_or(-1));
      if (m->gated())
        gated.set({{"repo", id.key()}}, static_cast<double>(m->status().pending.size()));
    }
    for (const auto& u : cfg_.upstreams) {
      auto it = sources_.find(u.host);
      up.set({{"host", u.host}}, it != sources_.end() && it->second->down() ? 0 : 1);
    }
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
                                    *cfg_.find(id.host), cfg_);
    if (gates_) m->set_gate(gates_(id));
    next_sync_[id] = SteadyClock::now() + jittered(cfg_.sync_interval);
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
  return std::chrono::duration<double>(std::chrono::system_clock::now() - *st.last_success).count();
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
  if (stale && !src.down() && !m->syncing() && !pending) {
    if (overdue) {
      // An earlier request waited out the budget and no sync of this host has ended since.
      trigger_sync(id);
      refresh_waits_.add({{"host", id.host}, {"result", "skipped"}});
      return m;
    }
    if (reach == http::Reach::local) return fail(Errc::needs_upstream, "due for a refresh");
    // Offline-first: wait for a refresh only briefly, only when upstream is believed healthy, and
    // not at all when a sync is already running or queued (it may be stuck behind a dead link:
    // one request waiting out the budget is enough).
    auto gen = m->sync_generation();
    trigger_sync(id);
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
  for (auto i : src.to_try()) {
    http::ClientRequest req;
    req.url = m->source_url(i) + "/info/refs?service=git-upload-pack";
    req.connect_timeout = cfg_.probe_timeout;
    req.total_timeout = cfg_.probe_timeout;
    auto r = src.at(i).send(req);
    // Any HTTP answer (even 401 or an oversized body) proves the source is reachable.
    if (r || (r.error().code != Errc::upstream_unavailable && r.error().code != Errc::timeout))
      return true;
    src.at(i).breaker().record_failure(r.error().message);
    spdlog::warn("git: {} is unreachable: {}", src.at(i).url(), r.error().message);
  }
  return false;
}

bool GitCache::trigger_sync(const RepoId& id) {
  std::shared_ptr<GitMirror> m;
  {
    MutexLock lock(mu_);
    auto it = mirrors_.find(id);
    if (it == mirrors_.end()) return false;
    m = it->second;
    // A sync already running (or queued) may have read upstream before this trigger (a webhook
    // for a push it did not see): one more sync follows it.
    if (queued_[id] || m->syncing()) again_[id] = true;
    if (queued_[id]) return true;
    queued_[id] = true;
  }
  pool_.post([this, m] {
    for (;;) {
      run_sync(m);  // joins a sync already running
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
  return trigger_sync(id);
}

void GitCache::notify_peers(const RepoId& id) {
  if (!cluster_ || !cluster_->ahead_of_self(owner_key(id)).empty()) return;  // owners only
  pool_.post([this, id] {
    for (const auto& peer : cluster_->live_peers())
      if (!stopping_ && !ask_peer_sync(peer, id))
        spdlog::warn("git: peer {} did not take a sync of {}", peer.source->url(), id.key());
  });
}

Result<SyncOutcome> GitCache::sync_from_sources(GitMirror& m) {
  auto& src = sources(m.id().host);
  std::string failover;  // every source before the one used, and why it was passed over
  Result<SyncOutcome> r = fail(Errc::upstream_unavailable, "no source");
  // In a cluster, from the owner's mirror first: only the owner syncs from the sources.
  if (cluster_)
    for (const auto& peer : cluster_->ahead_of_self(owner_key(m.id()))) {
      const auto& url = peer.source->url();
      GitMirror::From from{url + "/git/" + m.id().key(), url, failover, {}};
      from.config.emplace_back("http." + url + "/.extraHeader",
                               std::string(cluster::kPeerHeader) + ": " + cluster_->self());
      if (auto token = cluster_->authorization())
        from.config.emplace_back("http." + url + "/.extraHeader", "Authorization: " + *token);
      r = m.sync(stopping_, from);
      if (r) return r;
      spdlog::warn("git: sync of {} from peer {} failed: {}", m.id().key(), url, r.error().message);
      failover +=
          fmt::format("{}peer {} failed: {}", failover.empty() ? "" : "; ", url, r.error().message);
    }
  // A source whose breaker is open is skipped unless this sync claims its probe: while a host is
  // down, syncs queued for its repositories fail at once and one probe decides (never a dial
  // per queued sync, each doubling the backoff).
  for (std::size_t i = 0; i < src.size(); ++i) {
    auto& source = src.at(i);
    auto pass_over = [&](const std::string& why) {
      failover += fmt::format("{}{} {} {}", failover.empty() ? "" : "; ",
                              upstream::role_name(source.spec().role), source.url(), why);
    };
    if (source.breaker().is_open() && !source.breaker().claim_probe()) {
      pass_over("is down (" + source.breaker().state().last_error + ")");
      r = fail(Errc::upstream_unavailable,
               fmt::format("{} is down ({})", source.url(), source.breaker().state().last_error));
      continue;
    }
    r = m.sync(stopping_, {m.source_url(i), source.url(), failover});
    if (r) {
      if (source.breaker().is_open()) spdlog::info("git: {} is reachable again", source.url());
      source.breaker().record_success();
      if (!failover.empty())
        spdlog::warn("git: {} synced from {} ({})", m.id().key(), source.url(), failover);
      return r;
    }
    if (r.error().code != Errc::upstream_unavailable && r.error().code != Errc::timeout) return r;
    const auto& why = r.error().message;
    spdlog::warn("git: sync of {} from {} failed: {}", m.id().key(), source.url(), why);
    // A mirror without this one repository is no outage of the mirror: the other repositories
    // of the host keep using it.
    if (src.is_mirror(i) &&
        (why.find("not found") != std::string::npos || why.find(" 404") != std::string::npos)) {
      pass_over("does not have it: " + why);
      continue;
    }
    source.breaker().record_failure(why);
    pass_over("failed: " + why);
  }
  return r;
}

void GitCache::run_sync(std::shared_ptr<GitMirror> m) {
  if (stopping_) return;
  bool was_cloned = m->cloned();
  auto r = sync_from_sources(*m);
  syncs_.add({{"host", m->id().host}, {"result", r ? "ok" : "error"}});
  {
    MutexLock lock(mu_);
    next_sync_[m->id()] = SteadyClock::now() + jittered(cfg_.sync_interval);
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

void GitCache::schedule_loop(std::stop_token st) {
  while (!st.stop_requested()) {
    std::vector<RepoId> due;
    {
      MutexLock lock(mu_);
      auto now = SteadyClock::now();
      for (auto& [id, m] : mirrors_) {
        if (!m->cloned() || now < next_sync_[id] || queued_[id]) continue;
        // While a host is down, background syncs double as its probe, at the origin's backoff.
        auto s = sources_.find(id.host);
        if (s != sources_.end() && s->second->down() && !s->second->origin().breaker().probe_due())
          continue;
        due.push_back(id);
      }
    }
    for (const auto& id : due) trigger_sync(id);
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

std::vector<UpstreamHealth> GitCache::health() {
  std::vector<UpstreamHealth> out;
  for (const auto& u : cfg_.upstreams)
    out.push_back(upstream_health("git", u.host, sources(u.host).health()));
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
         {"bytes", dir_bytes(m->dir())}});
  }
  return nlohmann::json({{"repos", arr}})
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace outpost::git
