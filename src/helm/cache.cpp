#include "helm/cache.hpp"
#include "helm/metric_defs.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/encoding.hpp"
#include "core/retry.hpp"
#include "core/time.hpp"
#include "http/string_sink.hpp"
#include "store/atomic_file.hpp"
#include "upstream/origin.hpp"
#include "upstream/resumable.hpp"

namespace outpost::helm {
namespace fs = std::filesystem;
namespace {

using http::StringSink;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

HelmCache::HelmCache(const HelmConfig& cfg, const fs::path& data_dir, BlobStore& store, MetaDb& db,
                     http::HttpClient& client, Metrics& metrics, const Clock& clock)
    : cfg_(cfg),
      dir_(data_dir / "helm"),
      store_(store),
      db_(db),
      client_(client),
      clock_(clock),
      requests_(metrics.counter(metric::helm_requests_total)) {
  for (const auto& up : cfg_.upstreams)
    sources_.emplace(
        up.host,
        std::make_unique<upstream::SourceList>(
            upstream::SourceSpec{up.url, upstream::Role::origin, up.insecure, up.username,
                                 up.password},
            up.mirrors, upstream::BreakerPolicy{cfg_.breaker_min_backoff, cfg_.breaker_max_backoff},
            client_, stopping_, clock_));
  auto& age = metrics.gauge(metric::helm_index_age_seconds);
  auto& up_gauge = metrics.gauge(metric::helm_upstream_up);
  metrics.add_collector([this, &age, &up_gauge] {
    for (const auto& s : status()) {
      if (s.last_success) age.set({{"repo", s.repo}}, double(unix_now() - *s.last_success));
    }
    for (const auto& [host, s] : sources_) up_gauge.set({{"host", host}}, s->down() ? 0 : 1);
  });
  refresher_ = std::jthread([this](std::stop_token st) { refresh_loop(st); });
}

HelmCache::~HelmCache() {
  stop();
}

void HelmCache::stop() {
  stopping_ = true;
  refresher_.request_stop();
  if (refresher_.joinable()) refresher_.join();
}

upstream::SourceList& HelmCache::sources(const std::string& host) const {
  return *sources_.at(host);  // one list per configured host, created up front
}

std::string HelmCache::index_url_on(const ChartRepo& id, std::size_t i) const {
  const auto* up = cfg_.find(id.host);
  const std::string& base = i < up->mirrors.size() ? up->mirrors[i].url : up->url;
  return id.path.empty() ? base + "/index.yaml" : base + "/" + id.path + "/index.yaml";
}

fs::path HelmCache::disk_copy(const ChartRepo& id) const {
  // Components are plain (never start with '.'), so ".index.yaml" cannot collide with a path.
  return (id.path.empty() ? dir_ / id.host : dir_ / id.host / id.path) / ".index.yaml";
}

HelmCache::UrlSource HelmCache::source_for_url(const std::string& url) const {
  auto origin = upstream::url_origin(url);
  if (origin.empty()) return {};
  for (const auto& up : cfg_.upstreams) {
    for (std::size_t i = 0; i < up.mirrors.size(); ++i)
      if (upstream::url_origin(up.mirrors[i].url) == origin) return {&up, i};
    if (upstream::url_origin(up.url) == origin) return {&up, up.mirrors.size()};
  }
  return {};
}

std::vector<ChartEntry> HelmCache::release_entries(const ChartRepo& id) {
  std::vector<ChartEntry> out;
  auto rows = db_.release_charts(id.key());
  if (!rows) return out;
  for (auto& c : *rows) out.push_back({c.name, c.version, "", c.digest, c.entry_json});
  return out;
}

HelmCache::Repo& HelmCache::repo_locked(const ChartRepo& id) {
  auto& slot = repos_[id.key()];
  if (!slot) {
    slot = std::make_unique<Repo>();
    slot->id = id;
  }
  return *slot;
}

void HelmCache::load_disk_locked(Repo& r) {
  if (r.loaded) return;
  r.loaded = true;
  auto path = disk_copy(r.id);
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  const auto* up = cfg_.find(r.id.host);
  auto raw = std::make_shared<const std::string>(read_file(path));
  // The URL the copy came from (a mirror's or the origin's): relative chart URLs resolve on it.
  std::string from = read_file(fs::path(path).replace_extension(".url"));
  if (from.empty()) from = index_url(*up, r.id);
  auto served = serve_index(*raw, from, release_entries(r.id));
  if (!served) {
    spdlog::warn("helm: ignoring unreadable cached index {}: {}", path.string(),
                 served.error().message);
    return;
  }
  r.raw = raw;
  r.raw_url = from;
  r.served = std::make_shared<const ServedIndex>(std::move(*served));
  auto mtime = fs::last_write_time(path, ec);
  if (!ec)
    r.last_success = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                         .count();
}

std::shared_future<void> HelmCache::start_refresh(Repo& r) {
  MutexLock lock(mu_);
  if (r.refreshing.valid() &&
      r.refreshing.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    return r.refreshing;
  auto done = std::make_shared<std::promise<void>>();
  r.refreshing = done->get_future().share();
  auto f = r.refreshing;
  lock.unlock();
  pool_.post([this, &r, done] {
    refresh(r);
    done->set_value();
  });
  return f;
}

Result<std::pair<std::shared_ptr<const std::string>, std::string>> HelmCache::raw_index(
    const ChartRepo& id) {
  MutexLock lock(mu_);
  auto& r = repo_locked(id);
  load_disk_locked(r);
  if (!r.raw) return fail(Errc::not_found, "no copy of this index here");
  return std::pair{r.raw, r.raw_url};
}

std::optional<HelmCache::FetchedIndex> HelmCache::index_from_peers(const ChartRepo& id) {
  if (!cluster_) return std::nullopt;
  std::vector<upstream::Hop> order;
  for (const auto& peer : cluster_->live_peers()) order.push_back({peer.source});
  upstream::Judged found{upstream::Verdict::pass};  // what the last ask found
  auto ask = [&](const upstream::Hop& hop) -> Result<FetchedIndex> {
    StringSink sink(cfg_.max_index_bytes);
    http::ClientRequest req;
    req.url = fmt::format("/helm/{}/index.yaml", id.key());
    req.total_timeout = cfg_.fetch_timeout;
    auto r = cluster_->request(*hop.source, std::move(req), &sink);
    found = upstream::is_outage(r)
                ? upstream::Judged{upstream::Verdict::down, upstream::outage_text(r)}
                : upstream::Judged{upstream::Verdict::pass};
    if (!r || r->status != 200) return fail(Errc::not_found, "no copy there");
    auto url = r->headers.get("X-Outpost-Index-Url");
    // Only an index from one of this repository's own sources is taken (its chart URLs are
    // followed as that source's).
    if (!url || !source_for_url(std::string(*url)).up) return fail(Errc::not_found, "no source");
    const std::string from(*url);
    auto served = serve_index(sink.data, from, release_entries(id));
    if (!served) return std::unexpected(served.error());
    found = {upstream::Verdict::answer};
    return FetchedIndex{std::move(sink.data), from, std::move(*served), true};
  };
  auto asked = upstream::ask_in_order<FetchedIndex>(
      order, ask, [&](const upstream::Hop&, const Result<FetchedIndex>&) { return found; },
      "helm " + id.key());
  if (!asked.answered) return std::nullopt;
  spdlog::info("helm {}: no copy and no source answers; took {}'s copy", id.key(), asked.by->url());
  return std::move(*asked.outcome);
}

Result<HelmCache::FetchedIndex> HelmCache::fetch_index_or_peers(const ChartRepo& id,
                                                                bool ask_peers) {
  auto got = fetch_index(id);
  if (got || !ask_peers || got.error().code != Errc::upstream_unavailable) return got;
  if (auto from_peer = index_from_peers(id)) return std::move(*from_peer);
  return got;
}

Result<HelmCache::FetchedIndex> HelmCache::fetch_index(const ChartRepo& id) {
  auto& src = sources(id.host);
  std::vector<upstream::Hop> order;
  std::map<const upstream::Source*, std::size_t> index;
  for (auto i : src.to_try(upstream::SourceList::DueProbes::include)) {
    order.push_back({&src.at(i)});
    index[&src.at(i)] = i;
  }
  using upstream::Verdict;
  Verdict found = Verdict::stop;  // what the last ask found: the judge's verdict
  auto ask = [&](const upstream::Hop& hop) -> Result<FetchedIndex> {
    auto& source = *hop.source;
    const std::string url = index_url_on(id, index[&source]);
    StringSink sink(cfg_.max_index_bytes);
    auto resp = get(source, url, sink);
    if (!resp) {
      found = sink.over || resp.error().code == Errc::cancelled ? Verdict::stop : Verdict::down;
      if (sink.over)
        return fail(Errc::upstream_error,
                    fmt::format("{} is larger than helm.max_index_bytes", url));
      return fail(resp.error().code, fmt::format("{}: {}", url, resp.error().message));
    }
    found = resp->status >= 500 ? Verdict::down : Verdict::not_here;  // a mirror lacks it
    if (resp->status != 200)
      return fail(resp->status >= 500 ? Errc::upstream_unavailable : Errc::upstream_error,
                  fmt::format("{}: upstream answered HTTP {}", url, resp->status));
    // Parsed once, here: a mirror's index that is not one distrusts the mirror.
    auto served = serve_index(sink.data, url, release_entries(id));
    found = served ? Verdict::answer : Verdict::distrust;
    if (!served)
      return fail(served.error().code, fmt::format("{}: {}", url, served.error().message));
    source.add_bytes(sink.data.size());
    return FetchedIndex{std::move(sink.data), url, std::move(*served)};
  };
  auto judge = [&](const upstream::Hop&, const Result<FetchedIndex>& r) {
    return upstream::Judged{found, r ? "" : r.error().message};
  };
  return upstream::ask_in_order<FetchedIndex>(order, ask, judge, "helm " + id.key(),
                                              upstream::Fallback::last)
      .outcome;
}

void HelmCache::refresh(Repo& r) {
  bool have = false;
  {
    MutexLock lock(mu_);
    have = r.raw != nullptr;
  }
  auto got = fetch_index_or_peers(r.id, !have);
  if (!got) {
    spdlog::warn("helm {}: refresh failed: {}", r.id.key(), got.error().message);
    MutexLock lock(mu_);
    r.last_error = got.error().message;
    r.fetched = clock_.steady_now();
    return;
  }
  auto& [text, url, served, from_peer] = *got;
  for (const auto& why : served.skipped) spdlog::warn("helm {}: left out {}", r.id.key(), why);
  // The copy that serves the index after a restart while upstream is down: durable, and never
  // half-written (a failed write keeps the previous copy). Its URL beside it.
  auto copy = disk_copy(r.id);
  if (auto w = write_file_atomically(copy, text); !w)
    spdlog::warn("helm: cannot keep a copy of {} on disk: {}", url, w.error().message);
  else
    (void)write_file_atomically(fs::path(copy).replace_extension(".url"), url);
  MutexLock lock(mu_);
  r.raw = std::make_shared<const std::string>(std::move(text));
  r.raw_url = url;
  r.served = std::make_shared<const ServedIndex>(std::move(served));
  r.last_success = unix_now();
  r.last_error.clear();
  // A peer's copy is due at once: the next refresh asks the sources again.
  r.fetched = from_peer ? std::chrono::steady_clock::time_point{} : clock_.steady_now();
}

void HelmCache::refresh_loop(std::stop_token st) {
  while (sleep_unless_stopped(st, std::chrono::seconds(1))) {
    std::vector<Repo*> due;
    {
      MutexLock lock(mu_);
      auto now = clock_.steady_now();
      for (auto& [key, r] : repos_) {
        auto& src = sources(r->id.host);
        bool stale = now - r->fetched >= cfg_.refresh_interval;
        if ((stale && !src.down()) || src.any_probe_due()) due.push_back(r.get());
      }
    }
    for (Repo* r : due) {
      if (st.stop_requested()) break;
      start_refresh(*r).wait();
    }
  }
}

Result<std::shared_ptr<const ServedIndex>> HelmCache::current(const ChartRepo& id,
                                                              http::Reach reach) {
  const auto* up = cfg_.find(id.host);
  if (!up) return fail(Errc::not_found, "chart repository host is not configured");
  auto& src = sources(id.host);
  Repo* r = nullptr;
  bool have = false, stale = false;
  {
    MutexLock lock(mu_);
    r = &repo_locked(id);
    load_disk_locked(*r);
    have = r->raw != nullptr;
    stale = clock_.steady_now() - r->fetched >= cfg_.refresh_interval;
  }
  // No copy and no source: a peer's copy may do (a network wait).
  const bool peers = !have && cluster_ && !cluster_->live_peers().empty();
  if (reach == http::Reach::local && ((!src.down() && (!have || stale)) || peers))
    return fail(Errc::needs_upstream, "index due for a refresh");
  if (!have && (!src.down() || peers)) {
    start_refresh(*r).wait_for(cfg_.fetch_timeout);
  } else if (have && stale && !src.down()) {
    start_refresh(*r).wait_for(cfg_.request_refresh_budget);
  }
  auto extra = release_entries(id);
  MutexLock lock(mu_);
  bool complete = r->served != nullptr;
  if (complete)
    for (const auto& c : extra)
      if (!r->served->charts.contains(chart_path(c.name, c.version).substr(7))) complete = false;
  if (!complete) {  // a release added charts since the index was built, or there is no copy
    if (!r->raw && extra.empty()) {
      std::string why =
          r->last_error.empty() ? src.origin().breaker().state().last_error : r->last_error;
      return fail(Errc::upstream_unavailable,
                  fmt::format("no copy of {} yet and the upstream is unreachable ({})",
                              index_url(*up, id), why));
    }
    auto served = serve_index(r->raw ? std::string_view(*r->raw) : std::string_view(),
                              r->raw_url.empty() ? index_url(*up, id) : r->raw_url, extra);
    if (!served) return std::unexpected(served.error());
    r->served = std::make_shared<const ServedIndex>(std::move(*served));
  }
  return r->served;
}

Result<IndexResult> HelmCache::index(const ChartRepo& repo, http::Reach reach) {
  auto cur = current(repo, reach);
  if (!cur && cur.error().code == Errc::needs_upstream) return std::unexpected(cur.error());
  if (!cur) {
    requests_.add({{"kind", "index"}, {"result", "error"}});
    return std::unexpected(cur.error());
  }
  IndexResult out;
  out.body = std::shared_ptr<const std::string>(*cur, &(*cur)->body);
  {
    MutexLock lock(mu_);
    const Repo& r = *repos_.at(repo.key());
    if (r.last_success) out.stale_seconds = double(unix_now() - *r.last_success);
  }
  requests_.add({{"kind", "index"},
                 {"result", !out.stale_seconds       ? "releases"
                            : *out.stale_seconds < 1 ? "fresh"
                                                     : "cached"}});
  return out;
}

Result<ChartEntry> HelmCache::entry(const ChartRepo& repo, std::string_view name,
                                    std::string_view version) {
  auto cur = current(repo);
  if (!cur) return std::unexpected(cur.error());
  return find_chart(**cur, name, version);
}

void HelmCache::set_cluster(cluster::Cluster* cluster) {
  cluster_ = cluster && cluster->enabled() ? cluster : nullptr;
}

Result<http::ClientResponse> HelmCache::get(upstream::Source& source, std::string url,
                                            http::BodySink& sink) {
  http::ClientRequest req;
  req.url = std::move(url);
  req.connect_timeout = std::min<Millis>(cfg_.fetch_timeout, std::chrono::seconds(5));
  req.total_timeout = cfg_.fetch_timeout;
  req.stall_timeout = cfg_.stall_timeout;
  return source.send(req, &sink, [&] { return source.basic_authorization(); });
}

std::vector<upstream::UpstreamHealth> HelmCache::health() {
  std::vector<upstream::UpstreamHealth> out;
  for (const auto& u : cfg_.upstreams)
    out.push_back(upstream::upstream_health("helm", u.host, sources(u.host).health()));
  return out;
}

std::vector<RepoStatus> HelmCache::status() {
  MutexLock lock(mu_);
  std::vector<RepoStatus> out;
  for (const auto& [key, r] : repos_) {
    RepoStatus s;
    s.repo = key;
    s.last_success = r->last_success;
    s.last_error = r->last_error;
    s.charts = r->served ? r->served->charts.size() : 0;
    s.upstream_up = !sources(r->id.host).down();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace outpost::helm
