// helm::HelmCache, its charts: from the store, from the site cluster's peers, or downloaded (single
// flight, verified against the index's digest) from the source the index names, with the next
// source's index when that mirror is gone.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cluster/cluster.hpp"
#include "core/retry.hpp"
#include "helm/cache.hpp"
#include "upstream/resumable.hpp"

namespace outpost::helm {
namespace {

// The chart being downloaded: every attempt starts a fresh temp blob (charts are small, and a
// sealed hash cannot be resumed), bounded by helm.max_chart_bytes.
class ChartSink final : public upstream::ResumableSink {
 public:
  ChartSink(BlobStore& store, std::size_t limit, std::string url)
      : store_(store), limit_(limit), url_(std::move(url)) {}
  bool on_start(int, const http::Headers&) override { return writer_.has_value(); }
  bool on_data(std::span<const char> bytes) override {
    if (writer_->size() + bytes.size() > limit_)
      return reject({Errc::upstream_error,
                     fmt::format("chart {} is larger than helm.max_chart_bytes", url_)});
    if (auto r = writer_->write(bytes); !r) return reject({Errc::io, r.error().message});
    return true;
  }
  std::uint64_t held() const override { return 0; }
  void begin_attempt() override {
    rejected_.reset();
    writer_.reset();
    if (auto w = store_.create_temp())
      writer_.emplace(std::move(*w));
    else
      rejected_ = w.error();
  }
  std::optional<Error> rejected() const override { return rejected_; }
  BlobWriter& writer() { return *writer_; }

 private:
  bool reject(Error e) {
    rejected_ = std::move(e);
    return false;
  }
  BlobStore& store_;
  std::size_t limit_;
  std::string url_;
  std::optional<BlobWriter> writer_;
  std::optional<Error> rejected_;
};

}  // namespace

std::optional<Digest> HelmCache::chart_from_peers(const ChartRepo& repo, std::string_view file,
                                                  const ChartEntry& c, cluster::Asking asking) {
  if (!cluster_) return std::nullopt;
  const std::string path = fmt::format("/helm/{}/charts/{}", repo.key(), file);
  std::vector<upstream::Hop> order;
  for (const auto& [peer, held_only] :
       cluster_->ask_order("helm/" + repo.key() + "/" + std::string(file), asking))
    order.push_back({peer.source, held_only});
  upstream::Judged found{upstream::Verdict::pass};  // what the last ask found
  auto ask = [&](const upstream::Hop& hop) -> Result<Digest> {
    ChartSink sink(store_, cfg_.max_chart_bytes, hop.source->url() + path);
    sink.begin_attempt();
    http::ClientRequest req;
    req.url = path;
    req.total_timeout = cfg_.fetch_timeout;
    auto r = cluster_->request(*hop.source, std::move(req), &sink, hop.held_only);
    found = upstream::is_outage(r)
                ? upstream::Judged{upstream::Verdict::down, upstream::outage_text(r)}
                : upstream::Judged{upstream::Verdict::pass};
    if (!r || r->status != 200 || sink.rejected()) return fail(Errc::not_found, "not there");
    if (auto sealed = sink.writer().seal(c.digest); !sealed) {
      found = {upstream::Verdict::distrust,
               fmt::format("chart {} does not match the index's digest", file)};
      return fail(Errc::digest_mismatch, found.why);
    }
    auto d = sink.writer().publish();
    if (!d) return std::unexpected(d.error());
    hop.source->add_bytes(sink.writer().size());
    found = {upstream::Verdict::answer};
    return *d;
  };
  auto asked = upstream::ask_in_order<Digest>(
      order, ask, [&](const upstream::Hop&, const Result<Digest>&) { return found; },
      "helm " + repo.key());
  if (!asked.answered) return std::nullopt;
  spdlog::info("helm: cached {} {} from peer {}", c.name, c.version, asked.by->url());
  return *asked.outcome;
}

Result<Digest> HelmCache::chart(const ChartRepo& repo, std::string_view file, http::Reach reach,
                                bool from_peer) {
  auto cur = current(repo, reach);
  if (!cur && cur.error().code == Errc::needs_upstream) return std::unexpected(cur.error());
  if (!cur) {
    requests_.add({{"kind", "chart"}, {"result", "error"}});
    return std::unexpected(cur.error());
  }
  auto it = (*cur)->charts.find(std::string(file));
  if (it == (*cur)->charts.end()) {
    requests_.add({{"kind", "chart"}, {"result", "error"}});
    return fail(Errc::not_found,
                fmt::format("chart {} is not listed in the index of {}", file, repo.key()));
  }
  const ChartEntry& c = it->second;
  if (c.digest && store_.contains(*c.digest)) {
    requests_.add({{"kind", "chart"}, {"result", "hit"}});
    return *c.digest;
  }
  // Charts without a digest are found by URL, or by their place in this repository (the URL
  // changes when the index comes from another source).
  const std::string place = repo.key() + "/charts/" + std::string(file);
  for (const auto& key : {c.url, place}) {
    if (key.empty()) continue;
    if (auto d = db_.helm_chart(key); d && *d && store_.contains(**d)) {
      requests_.add({{"kind", "chart"}, {"result", "hit"}});
      return **d;
    }
  }
  auto via = source_for_url(c.url);
  if (reach == http::Reach::local && via.up &&
      !sources(via.up->host).at(via.index).breaker().is_open())
    return fail(Errc::needs_upstream, "chart not cached");
  if (cluster_ && !cluster_->live_peers().empty()) {
    if (reach == http::Reach::local) return fail(Errc::needs_upstream, "chart not cached");
    auto asking = from_peer ? cluster::Asking::holders_only : cluster::Asking::owners_first;
    if (auto d = chart_from_peers(repo, file, c, asking)) {
      requests_.add({{"kind", "chart"}, {"result", "peer"}});
      (void)db_.put_helm_chart(place, *d);
      return *d;
    }
  }
  requests_.add({{"kind", "chart"}, {"result", "miss"}});
  auto got = download(c);
  if (!got && via.up && sources(via.up->host).is_mirror(via.index) &&
      sources(via.up->host).at(via.index).breaker().is_open() && !sources(via.up->host).down())
    got = download_after_mirror_loss(repo, file, c, std::move(got), reach);
  if (got) (void)db_.put_helm_chart(place, *got);
  return got;
}

Result<Digest> HelmCache::download_after_mirror_loss(const ChartRepo& repo, std::string_view file,
                                                     const ChartEntry& lost, Result<Digest> why,
                                                     http::Reach reach) {
  // The mirror whose index listed the chart is gone: take the index from the next source, and
  // the chart from where that index says.
  spdlog::warn("helm {}: {}; refreshing the index from the next source", repo.key(),
               why.error().message);
  Repo* r = nullptr;
  {
    MutexLock lock(mu_);
    r = &repo_locked(repo);
  }
  start_refresh(*r).wait_for(cfg_.fetch_timeout);
  auto again = current(repo, reach);
  if (!again) return why;
  auto it = (*again)->charts.find(std::string(file));
  if (it == (*again)->charts.end() || it->second.url == lost.url) return why;
  return download(it->second);
}

Result<Digest> HelmCache::download(const ChartEntry& c) {
  const auto via = source_for_url(c.url);
  if (!via.up)
    return fail(Errc::forbidden,
                fmt::format("chart {} {} points at {}, which is not in helm.upstreams: not "
                            "followed (it is no upstream's origin or mirror)",
                            c.name, c.version, c.url.empty() ? "nothing" : c.url));
  auto& source = sources(via.up->host).at(via.index);
  if (source.breaker().is_open())
    return fail(Errc::upstream_unavailable,
                fmt::format("chart {} {} is not cached and {} is unreachable ({})", c.name,
                            c.version, source.url(), source.breaker().state().last_error));
  MutexLock lock(mu_);
  if (auto it = downloads_.find(c.url); it != downloads_.end()) {
    auto f = it->second;
    lock.unlock();
    return f.get();
  }
  // A download that ended between the caller's look at the store and this lock has published
  // the chart (and left downloads_ only after): it is not fetched a second time.
  if (c.digest && store_.contains(*c.digest)) return *c.digest;
  if (auto d = db_.helm_chart(c.url); d && *d && store_.contains(**d)) return **d;
  auto promise = std::make_shared<std::promise<Result<Digest>>>();
  downloads_.emplace(c.url, promise->get_future().share());
  lock.unlock();

  auto result = [&]() -> Result<Digest> {
    // A stalled, refused or reset download is retried (from the start) within the RetryBudget,
    // as blob downloads are; a wrong answer fails at once.
    ChartSink sink(store_, cfg_.max_chart_bytes, c.url);
    RetryBudget retry(cfg_.stall_timeout);
    const bool mirror = sources(via.up->host).is_mirror(via.index);
    auto attempt = [&](std::uint64_t) -> Result<http::ClientResponse> {
      // A mirror found down is not waited for: its chart may come from the next source instead.
      if (mirror && source.breaker().is_open())
        return fail(Errc::upstream_error, fmt::format("{} is unreachable ({})", source.url(),
                                                      source.breaker().state().last_error));
      auto r = get(source, c.url, sink);
      upstream::note(source, r, "helm");
      return r;
    };
    auto on_retry = [&](const Error& why, std::uint64_t, Millis pause) {
      spdlog::info("helm: fetching {}: {}; retrying in {} ms", c.url, why.message, pause.count());
    };
    auto fetched = upstream::fetch_resumable(attempt, sink, retry, stopping_, on_retry);
    if (!fetched)
      return fail(fetched.error().code,
                  fmt::format("fetching {}: {}", c.url, fetched.error().message));
    source.add_bytes(sink.writer().size());
    if (auto sealed = sink.writer().seal(c.digest); !sealed)
      return fail(Errc::digest_mismatch,
                  fmt::format("chart {} {} from {} does not match the index's digest", c.name,
                              c.version, c.url));
    auto d = sink.writer().publish();
    if (!d) return std::unexpected(d.error());
    if (auto r = db_.put_helm_chart(c.url, *d); !r) return std::unexpected(r.error());
    spdlog::info("helm: cached {} {} ({})", c.name, c.version, d->str());
    return *d;
  }();
  promise->set_value(result);
  lock.lock();
  downloads_.erase(c.url);
  return result;
}

Result<std::pair<UniqueFd, std::uint64_t>> HelmCache::open(const Digest& d) {
  auto size = store_.size_of(d);
  if (!size) return std::unexpected(size.error());
  auto fd = store_.open(d);
  if (!fd) return std::unexpected(fd.error());
  return std::pair<UniqueFd, std::uint64_t>(std::move(*fd), *size);
}

}  // namespace outpost::helm
