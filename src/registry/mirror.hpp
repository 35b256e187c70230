#pragma once
// The offline-first pull-through registry: answers manifests, blobs and tag lists from the
// store, goes upstream only for what is missing or due for revalidation, and never waits on an
// upstream whose circuit breaker is open. Thread-safe; owns the upstreams, the single-flight
// fetcher, its download threads and the background prober.
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <variant>

#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/thread_pool.hpp"
#include "http/client.hpp"
#include "registry/blob_fetch.hpp"
#include "registry/config.hpp"
#include "registry/route.hpp"
#include "registry/source_view.hpp"
#include "registry/upstream.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::cluster {
class Cluster;
}

namespace outpost::registry {

enum class CacheResult { hit, miss, stale };

struct ManifestResult {
  Digest digest;
  std::string media_type;
  std::string bytes;
  CacheResult cache;
};

struct BlobResult {
  std::uint64_t size;
  // A stored blob, a download in progress, or nothing (HEAD answered from upstream metadata).
  std::variant<std::monostate, UniqueFd, std::shared_ptr<BlobFetch>> body;
};

struct TagPage {
  std::vector<std::string> tags;
  bool more = false;
  // Set when the list is not upstream's current one (the upstream is unreachable): what it is
  // made of, for a Warning header; `partial` when upstream never listed the repository here.
  std::string warning;
  bool partial = false;
  // A followed source's list (sources.oci): the snapshot upstream sent at this time, served as is
  // (held-back versions left out) until the source's next check.
  std::optional<UnixSeconds> snapshot_at;
};

class Mirror {
 public:
  // `clock` decides tag freshness, breaker backoff and retry pauses (tests pass a FakeClock).
  // With a `cluster`, content by digest comes from the replicas that own it before the upstream
  // sources, and a tag never resolved here is asked of the peers while the sources are down.
  Mirror(const RegistryConfig& cfg, BlobStore& store, MetaDb& db, http::HttpClient& client,
         Metrics& metrics, const Clock& clock = Clock::system(),
         cluster::Cluster* cluster = nullptr);
  ~Mirror();
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // Each lookup takes a Reach: with Reach::local it answers from local state only (the store, the
  // database, a breaker known open) and fails with Errc::needs_upstream where it would call or
  // wait on an upstream.
  // REQUIRES: route.kind == Kind::manifest.
  Result<ManifestResult> manifest(const Route& route, http::Reach reach = http::Reach::upstream);
  // REQUIRES: route.kind == Kind::blob. `head`: size only, no download is started.
  Result<BlobResult> blob(const Route& route, bool head, http::Reach reach = http::Reach::upstream);
  // REQUIRES: route.kind == Kind::blob. Makes sure the blob is in the store, downloading it
  // (single-flight, verified) when missing; returns once it is published. `written`, when set,
  // sees the bytes downloaded so far every 200 ms.
  Result<void> ensure_blob(const Route& route,
                           const std::function<void(std::uint64_t)>& written = {});
  // The tag list in lexical order, strictly after `last`, at most `n` (more: another page
  // follows). Built from one full upstream listing per tag_ttl (whether the upstream pages or
  // not); offline, from the last listing plus every tag resolved since. Errc::not_found when
  // upstream does not know the repository.
  Result<TagPage> tags(const Route& route, std::optional<std::size_t> n, const std::string& last,
                       http::Reach reach = http::Reach::upstream);
  // The referrers index for a digest, from upstream (and kept); offline, the last one kept.
  // Errc::not_found when upstream answers 404 (no referrers API) or, offline, when none was ever
  // fetched: clients fall back to the sha256-<hex> tag scheme only on a 404.
  Result<std::string> referrers(const Route& route, http::Reach reach = http::Reach::upstream);

  // A peer asks this replica to keep a copy (cluster::kPeerKeepHeader): of a blob or a manifest by
  // digest, taken from the peers that hold it. Of a tag this replica does not know, the digest
  // `resolved` the sender reports is only a hint: the tag is resolved with this replica's own
  // sources (a HEAD that confirms it, else a full fetch), and nothing is kept while they are down.
  // Never in the releases namespace (Errc::forbidden): only a release import writes it.
  Result<void> keep(const Route& route, const std::optional<Digest>& resolved);

  std::vector<upstream::UpstreamHealth> health();

  // For the followed sources (src/sources), which keep what they govern current themselves:
  // tags and tag lists of a followed repository are answered from `view` (set before serving).
  void set_sources(const SourceView* view) { sources_ = view; }
  // Lists the repository's tags upstream (every page) and keeps them as its stored list.
  Result<std::vector<std::string>> list_upstream_tags(const std::string& upstream,
                                                      const std::string& repo);
  // What a tag resolves to upstream now: one HEAD (a GET when the upstream sends no digest).
  // Errc::not_found when upstream has no such tag; upstream_unavailable while it is down.
  Result<Digest> resolve_upstream_tag(const std::string& upstream, const std::string& repo,
                                      const std::string& tag);

  // Blocks until no background tag revalidation (registry.revalidate: background) is in flight.
  void wait_revalidations();

  // Cancels downloads (nothing half-done is published) and stops background work.
  void stop();
  // A hub on an object store: blob misses ask the bucket first (registry/upstream.hpp). Set
  // before serving.
  void set_object_tier(tier::ObjectTier* tier) {
    tier_ = tier;
    for (auto& [name, u] : upstreams_) u->set_object_tier(tier);
  }

 private:
  Upstream& upstream(const std::string& name);
  Result<ManifestResult> cached_manifest(const Digest& d, CacheResult how);
  // A followed source's answer for a tag (nothing: the usual lookup answers).
  std::optional<Result<ManifestResult>> source_manifest(const Route& route, http::Reach reach);
  std::optional<Result<TagPage>> source_tags(const Route& route, std::optional<std::size_t> n,
                                             const std::string& last);
  // With the sources down: the newest stored form of a tag (any Accept set it was resolved for)
  // whose type the client accepts; Errc::not_found naming the stored type when a form is held
  // but none is accepted; nothing when no form is held or the sources are up. `answer` is what
  // the usual path gave.
  std::optional<Result<ManifestResult>> held_form(const Route& route,
                                                  const Result<ManifestResult>& answer);
  // The three kinds of manifest lookup behind manifest() (which then refuses a type the client
  // does not accept): by digest; by tag for a client that accepts every type; by tag for one
  // that accepts only some (the tag as every client sees it when its type is accepted, else the
  // tag resolved with the client's Accept, kept in its own row).
  Result<ManifestResult> digest_manifest(const Route& route, http::Reach reach);
  Result<ManifestResult> tag_manifest(Upstream& up, const Route& route, http::Reach reach);
  Result<ManifestResult> negotiated_tag(const Route& route, http::Reach reach);
  // The media type of what the tag (pinned or cached, every-type row) resolves to here.
  std::optional<std::string> stored_type(Upstream& up, const Route& route);
  enum class Revalidation { unchanged, moved, deleted, failed };
  // One HEAD upstream for a cached tag; `unchanged` also marks it checked now.
  Revalidation revalidate(Upstream& up, const Route& route, const Digest& cached);
  // registry.revalidate: background — revalidate() in the pool, single-flight per tag row; a
  // moved tag is fetched, a deleted one noted (keep_deleted_tags) or forgotten.
  void revalidate_later(Upstream& up, const Route& route, const Digest& cached);
  // A cached tag upstream answers 404 for: served when registry.keep_deleted_tags (counted and
  // listed), else not_found.
  Result<ManifestResult> deleted_upstream(Upstream& up, const Route& route, const Digest& cached);
  // kReleasesNamespace: a release's artifact by version (a pinned tag) or digest from the store;
  // in a cluster, for a client, from a peer that holds it.
  Result<ManifestResult> release_manifest(const Route& route, http::Reach reach);
  // Fetches, verifies and stores a manifest; concurrent calls for the same one share one fetch.
  Result<ManifestResult> fetch_manifest(Upstream& up, const Route& route, const std::string& ref);
  // `from_peers`: from the live peers (this replica's sources are down), the tag recorded as due
  // for revalidation.
  Result<ManifestResult> fetch_manifest_once(Upstream& up, const Route& route,
                                             const std::string& ref, bool from_peers = false);
  // Whether a lookup may go on while `up` is down: live peers may have it.
  bool peers_may_answer(Upstream& up, const Route& route) const;
  Result<std::vector<std::string>> upstream_tag_list(Upstream& up, const std::string& repo);
  // A page of the stored tags (n + 1 asked for: `more` says whether another page follows).
  Result<TagPage> stored_tags(Upstream& up, const Route& route, std::optional<std::size_t> n,
                              const std::string& last, MetaDb::TagSource from);
  // Upstream unreachable: the stored list (fetched at `fetched`, when there is one) and the tags
  // resolved here, with a warning that says which.
  Result<TagPage> offline_tags(Upstream& up, const Route& route, std::optional<UnixSeconds> fetched,
                               std::optional<std::size_t> n, const std::string& last);
  void prefetch_children(Upstream& up, const std::string& repo, const std::string& bytes);
  void probe_loop(std::stop_token st);
  void touch(const Digest& d);  // records use for LRU eviction, at most every 10 minutes per blob
  // In a cluster: what this replica fetched from its upstream sources as the owner is copied to
  // the live peer ranked highest for it (a tag: the digest it resolved to), in the background, so
  // losing any one replica loses nothing cached.
  // `kind`: Kind::blob or Kind::manifest (`ref` a digest or a tag). A tag's copy is made before
  // the client is answered (it is small, and the replica that resolved it may die next).
  void copy_to_peer(Kind kind, const std::string& upstream, const std::string& repo,
                    const std::string& ref, const std::string& key, const std::string& keep_value);

  const RegistryConfig& cfg_;
  const Clock& clock_;
  cluster::Cluster* cluster_;  // nullable: counts bytes served to peers
  BlobStore& store_;
  MetaDb& db_;
  const SourceView* sources_ = nullptr;  // sources.oci: the followed repositories
  tier::ObjectTier* tier_ = nullptr;  // the bucket, in a hub on S3: manifests are read through it
  Metrics& metrics_;
  MetricFamily& cache_;
  std::atomic<bool> stopping_{false};
  Mutex touch_mu_;
  std::unordered_map<Digest, std::chrono::steady_clock::time_point> touched_ GUARDED_BY(touch_mu_);
  RegistryUpstreamConfig releases_cfg_;  // with a cluster: the releases namespace, peers only
  std::map<std::string, std::unique_ptr<Upstream>> upstreams_;
  Mutex manifest_mu_;
  std::map<std::string, std::shared_future<Result<ManifestResult>>> manifest_fetches_
      GUARDED_BY(manifest_mu_);
  std::set<std::string> revalidating_ GUARDED_BY(manifest_mu_);  // tag rows (revalidate_later)
  std::condition_variable_any revalidated_;                      // revalidating_ shrank
  BlobFetcher fetcher_;
  ThreadPool pool_;  // downloads; destroyed (joined) before the members above
  std::jthread prober_;
};

}  // namespace outpost::registry
