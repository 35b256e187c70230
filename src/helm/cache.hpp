#pragma once
// The offline-first Helm chart repository cache. An index is answered from its last good copy
// (kept on disk under <data>/helm/), refreshed in the background every refresh_interval and, on a
// request, within request_refresh_budget while the upstream host is healthy. Chart archives are
// immutable per URL: fetched once however many clients ask (single-flight), verified against the
// index's digest when it has one, stored content-addressed. Only URLs on helm.upstreams origins
// are ever dialled, whatever an upstream index says. Charts of retained releases are served (and
// listed in the index) even when the upstream was never reached. Thread-safe.
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/cluster.hpp"
#include "core/circuit_breaker.hpp"
#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/thread_pool.hpp"
#include "core/time.hpp"
#include "helm/config.hpp"
#include "helm/index.hpp"
#include "helm/repo.hpp"
#include "http/client.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"
#include "upstream/ask.hpp"
#include "upstream/config.hpp"
#include "upstream/source_list.hpp"

namespace outpost::helm {

struct IndexResult {
  std::shared_ptr<const std::string> body;
  std::optional<double> stale_seconds;  // age of the upstream copy (none: releases only)
};

struct RepoStatus {
  std::string repo;
  std::optional<std::int64_t> last_success;  // unix seconds
  std::string last_error;
  std::size_t charts = 0;
  bool upstream_up = true;
};

class HelmCache {
 public:
  // `clock` times index ages and the sources' breakers (a fake one moves them in tests).
  HelmCache(const HelmConfig& cfg, const std::filesystem::path& data_dir, BlobStore& store,
            MetaDb& db, http::HttpClient& client, Metrics& metrics,
            const Clock& clock = Clock::system());
  ~HelmCache();
  HelmCache(const HelmCache&) = delete;
  HelmCache& operator=(const HelmCache&) = delete;

  // The served index. Errc::upstream_unavailable when there is no copy and upstream is down.
  // index and chart take a Reach: with Reach::local, Errc::needs_upstream where they would call or
  // wait on the upstream.
  Result<IndexResult> index(const ChartRepo& repo, http::Reach reach = http::Reach::upstream);
  // Makes sure the chart archive `file` ("<name>-<version>.tgz") that the repo's index lists is in
  // the store; returns its digest. Errc::not_found when the index does not list it,
  // Errc::forbidden when its URL is on a host that is not configured.
  // In a site cluster a chart is handled like a blob: the owners ahead of this replica first, then
  // the peers that hold it (only those, for a peer's request: `from_peer`), then the sources.
  Result<Digest> chart(const ChartRepo& repo, std::string_view file,
                       http::Reach reach = http::Reach::upstream, bool from_peer = false);
  // A site cluster (null or disabled: none): charts as above; an index is kept by each replica
  // from its sources, and one with no copy takes a peer's while its sources are down.
  void set_cluster(cluster::Cluster* cluster);
  // For a peer: this replica's copy of the index as its source sent it, and that source's URL
  // (no refresh, no upstream). Errc::not_found without a copy.
  Result<std::pair<std::shared_ptr<const std::string>, std::string>> raw_index(const ChartRepo& id);
  // The index entry of a chart (for bundles), from the current index.
  Result<ChartEntry> entry(const ChartRepo& repo, std::string_view name, std::string_view version);

  // A stored chart archive and its size.
  Result<std::pair<UniqueFd, std::uint64_t>> open(const Digest& d);

  std::vector<RepoStatus> status();
  std::vector<upstream::UpstreamHealth> health();
  void stop();  // ends background refreshes and cancels downloads

 private:
  // Its fields other than `id` are guarded by HelmCache::mu_ (a nested struct cannot name it in
  // GUARDED_BY; repo_locked and load_disk_locked are checked instead).
  struct Repo {
    ChartRepo id;
    std::shared_ptr<const std::string> raw;  // last good upstream copy
    std::string raw_url;                     // the index URL it came from (relative chart URLs)
    std::shared_ptr<const ServedIndex> served;
    std::optional<std::int64_t> last_success;
    std::chrono::steady_clock::time_point fetched{};
    std::string last_error;
    bool loaded = false;  // disk copy read
    std::shared_future<void> refreshing;
  };
  Repo& repo_locked(const ChartRepo& id) REQUIRES(mu_);
  void load_disk_locked(Repo& r) REQUIRES(mu_);
  std::shared_future<void> start_refresh(Repo& r);
  void refresh(Repo& r);
  Result<std::shared_ptr<const ServedIndex>> current(const ChartRepo& id,
                                                     http::Reach reach = http::Reach::upstream);
  Result<Digest> download(const ChartEntry& c);
  // The chart from the cluster's replicas, as `asking` says; verified against the index's digest
  // (a peer whose chart does not match is distrusted). Nothing when no peer had it.
  std::optional<Digest> chart_from_peers(const ChartRepo& repo, std::string_view file,
                                         const ChartEntry& c, cluster::Asking asking);
  // After `lost`'s mirror went down: the index from the next source, then the chart from where
  // that index says; `why` when that gives nothing new.
  Result<Digest> download_after_mirror_loss(const ChartRepo& repo, std::string_view file,
                                            const ChartEntry& lost, Result<Digest> why,
                                            http::Reach reach);
  Result<http::ClientResponse> get(upstream::Source& source, std::string url, http::BodySink& sink);
  // The configured host and the source (mirror or origin) whose origin `url` is on.
  struct UrlSource {
    const HostUpstreamConfig* up = nullptr;
    std::size_t index = 0;
  };
  UrlSource source_for_url(const std::string& url) const;
  upstream::SourceList& sources(const std::string& host) const;
  // The index URL of `id` on source `i` of its host (mirrors in order, then the origin).
  std::string index_url_on(const ChartRepo& id, std::size_t i) const;
  // The index from the first source that has one that parses: its text, URL and served form
  // (with the repository's release charts), or why none did.
  struct FetchedIndex {
    std::string text, url;
    ServedIndex served;
    bool from_peer = false;  // a peer's copy: refreshed from the sources as soon as they answer
  };
  // From the first source that has it.
  Result<FetchedIndex> fetch_index(const ChartRepo& id);
  // The same; with `ask_peers` (no copy here), when no source answers, a live peer's copy (its
  // upstream form and the URL it came from).
  Result<FetchedIndex> fetch_index_or_peers(const ChartRepo& id, bool ask_peers);
  std::optional<FetchedIndex> index_from_peers(const ChartRepo& id);
  std::vector<ChartEntry> release_entries(const ChartRepo& id);
  std::filesystem::path disk_copy(const ChartRepo& id) const;
  void refresh_loop(std::stop_token st);

  const HelmConfig& cfg_;
  cluster::Cluster* cluster_ = nullptr;
  std::filesystem::path dir_;
  BlobStore& store_;
  MetaDb& db_;
  http::HttpClient& client_;
  const Clock& clock_;
  MetricFamily& requests_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  std::map<std::string, std::unique_ptr<Repo>> repos_ GUARDED_BY(mu_);  // key: ChartRepo::key
  // The sources of each configured host (mirrors, then the origin: a breaker, credentials and
  // redirect rules each); set in the ctor.
  std::map<std::string, std::unique_ptr<upstream::SourceList>> sources_;
  std::map<std::string, std::shared_future<Result<Digest>>> downloads_ GUARDED_BY(mu_);
  ThreadPool pool_{2};  // refreshes; joined before the members above go
  std::jthread refresher_;
};

}  // namespace outpost::helm
