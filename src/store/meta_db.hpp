#pragma once
// Metadata in <data>/meta.db (SQLite, WAL): which manifests are stored with their exact media
// type, what each mirrored tag last resolved to and when it was checked, and the blob inventory
// (size, last access) that fsck and GC use. Thread-safe: one connection behind a mutex.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "store/meta_records.hpp"
#include "store/meta_sharing.hpp"
#include "store/shared_meta.hpp"
#include "store/sqlite.hpp"

namespace outpost {

class MetaDb {
 public:
  explicit MetaDb(const std::filesystem::path& file);  // throws at start-up
  ~MetaDb();

  // A hub replica (metadata.postgres): writes go to this file and to `shared`; reads of tags,
  // tag lists, manifests, referrers and charts take what the database holds first (copying it
  // here), so this file is the local read copy that answers while the database is down. A write
  // the database missed is served here and counted in sharing() as not shared.
  void share_with(SharedMeta& shared, Millis retry_after);
  std::optional<SharingState> sharing() const;  // nothing when not shared
  // Copies the releases the database holds and this file lacks; sends the database those only
  // this file holds that it never held (recorded here while it was down), and drops those it
  // held once (retention dropped them there). Returns how many of each.
  struct ReleaseSync {
    int pulled = 0, pushed = 0, dropped = 0;
  };
  Result<ReleaseSync> sync_releases();
  // Every row hub replicas share, handed to `to` (`outpost storage migrate`): manifests, tag rows
  // (the per-Accept forms too), blob records, referrers, chart URLs, tag lists, releases.
  struct ExportSink {
    std::function<void(const Digest&, const std::string& media_type, std::uint64_t size)> manifest;
    std::function<void(const std::string& upstream, const std::string& repo, const std::string& tag,
                       const Digest&, UnixSeconds checked_at)>
        tag;
    std::function<void(const Digest&, std::uint64_t size)> blob;
    std::function<void(const std::string& upstream, const std::string& repo, const Digest& subject,
                       const std::string& index)>
        referrers;
    std::function<void(const std::string& url, const Digest&)> helm_chart;
    std::function<void(const std::string& upstream, const std::string& repo,
                       const std::vector<std::string>& tags, UnixSeconds fetched_at)>
        tag_list;
    std::function<void(const outpost::ReleaseRecord&)> release;
  };
  struct Exported {
    std::uint64_t manifests = 0, tags = 0, blobs = 0, tag_lists = 0, releases = 0;
  };
  Result<Exported> export_rows(const ExportSink& to);
  // One release as recorded here, whole; nothing when unknown.
  Result<std::optional<outpost::ReleaseRecord>> release(const std::string& name,
                                                        const std::string& version);

  // `children`: the manifests and blobs it names, for the shared database's GC (kept there only).
  Result<void> put_manifest(const Digest& d, const std::string& media_type, std::uint64_t size,
                            const std::vector<Digest>& children = {});
  Result<std::optional<ManifestRecord>> manifest(const Digest& d);

  Result<void> put_tag(const std::string& upstream, const std::string& repo, const std::string& tag,
                       const Digest& d, UnixSeconds checked_at);
  Result<std::optional<TagRecord>> tag(const std::string& upstream, const std::string& repo,
                                       const std::string& tag);
  // The tag as resolved for any Accept set: its own row, else the `<tag>#<types>` row resolved
  // last (what `outpost images --check` asks: does this site hold some form of the tag).
  Result<std::optional<TagRecord>> tag_any_accept(const std::string& upstream,
                                                  const std::string& repo, const std::string& tag);
  // Every row of a tag, its own and those kept per Accept set (`<tag>#<types>`), newest first:
  // the forms a site holds, for a client that accepts one of them while the sources are down.
  Result<std::vector<TagRecord>> tag_forms(const std::string& upstream, const std::string& repo,
                                           const std::string& tag);
  // The tags of a repository, sorted; not the rows kept per Accept set (`<tag>#<types>`).
  Result<std::vector<std::string>> tags(const std::string& upstream, const std::string& repo);
  // Forgets a tag (upstream deleted it and registry.keep_deleted_tags is off).
  Result<void> forget_tag(const std::string& upstream, const std::string& repo,
                          const std::string& tag);
  // Tags upstream no longer has that are still served (registry.keep_deleted_tags). put_tag (the
  // tag answered again) forgets one. note_deleted_tag returns true when the tag is new to the list.
  struct DeletedTag {
    std::string upstream, repo, tag;
    Digest digest;
    UnixSeconds noticed_at;
  };
  Result<bool> note_deleted_tag(const std::string& upstream, const std::string& repo,
                                const std::string& tag, const Digest& d, UnixSeconds at);
  Result<std::vector<DeletedTag>> deleted_tags();

  // The last complete tag list an upstream sent for a repository (tags/list serves it, a page at
  // a time, and offline), one row per tag.
  Result<void> put_tag_list(const std::string& upstream, const std::string& repo,
                            const std::vector<std::string>& tags, UnixSeconds fetched_at);
  // When that list was fetched; nothing when there is none.
  Result<std::optional<UnixSeconds>> tag_list_fetched_at(const std::string& upstream,
                                                         const std::string& repo);
  // Up to `limit` tags after `last` (all from the start when empty), sorted: the stored list,
  // and with `with_resolved` also every tag resolved here (offline: what a pull could get). An
  // index range scan: the cost grows with the page, not with the list.
  enum class TagSource { listed, listed_and_resolved };
  Result<std::vector<std::string>> tag_list_page(const std::string& upstream,
                                                 const std::string& repo, const std::string& last,
                                                 std::size_t limit, TagSource from);
  // The referrers index (JSON) an upstream returned for a subject digest, served offline.
  Result<void> put_referrers(const std::string& upstream, const std::string& repo,
                             const Digest& subject, const std::string& index);
  Result<std::optional<std::string>> referrers(const std::string& upstream, const std::string& repo,
                                               const Digest& subject);

  Result<void> put_blob(const Digest& d, std::uint64_t size);
  Result<void> remove_blob(const Digest& d);
  struct BlobRow {
    Digest digest;
    std::uint64_t size;
  };
  Result<std::vector<BlobRow>> blobs();
  // Least recently used first.
  Result<std::vector<BlobRow>> blobs_by_last_access();
  Result<void> touch_blob(const Digest& d);
  // Every digest some retained release pins.
  Result<std::vector<Digest>> pinned_digests();
  Result<std::vector<Digest>> manifest_digests();

  // The image inventory (GET /api/v1/images), a page at a time: every tag resolved here and
  // every tag a retained release pins, in (upstream, repository, tag) order, the releases
  // namespace left out; the rows kept per Accept set (`<tag>#<types>`) count as their tag.
  struct ImageKey {
    std::string upstream, repo, tag;
    auto operator<=>(const ImageKey&) const = default;
  };
  // Up to `n` keys after `after` (all from the start without it). Index range scans: the cost
  // grows with the page, not with the store.
  Result<std::vector<ImageKey>> image_keys(const std::optional<ImageKey>& after, std::size_t n);
  // How many keys image_keys walks in all.
  Result<std::uint64_t> image_key_count();
  // One key's row (`releases`: "name version", newest first; the pinned digest wins, as when
  // serving; else the tag's own row, else its form resolved last), with the last access of its
  // manifest. Nothing when the key is gone.
  struct ImageTagRow {
    std::string upstream, repo, tag;
    Digest digest;
    UnixSeconds checked_at = 0;              // 0: never resolved here (a release's only)
    std::optional<UnixSeconds> last_access;  // of the manifest blob
    std::vector<std::string> releases;
  };
  Result<std::optional<ImageTagRow>> image_tag(const ImageKey& key);
  Result<void> remove_manifest(const Digest& d);

  struct GitRepoRow {
    std::string host, path;
    std::optional<UnixSeconds> last_success;
    std::string last_error;
  };
  Result<void> put_git_repo(const GitRepoRow& row);
  Result<std::vector<GitRepoRow>> git_repos();

  // Releases (bundles imported). A release pins its blobs and maps its tags to its digests.
  using ReleaseRecord = outpost::ReleaseRecord;
  // Records the release, its pins, its manifests and tags in one transaction. Re-importing the
  // same name+version replaces it.
  Result<void> record_release(const ReleaseRecord& r);
  Result<bool> has_release(const std::string& name, const std::string& version);
  // Charts retained releases carry for a chart repository, newest release first.
  Result<std::vector<ReleaseRecord::Chart>> release_charts(const std::string& repo);
  // Helm chart archives by upstream URL (immutable per URL: fetched once).
  Result<void> put_helm_chart(const std::string& url, const Digest& digest);
  Result<std::optional<Digest>> helm_chart(const std::string& url);
  Result<std::vector<Digest>> release_blobs(const std::string& name, const std::string& version);
  // The digest the newest retained release maps this tag to.
  Result<std::optional<Digest>> pinned_tag(const std::string& upstream, const std::string& repo,
                                           const std::string& tag);
  // Every tag retained releases pin in a repository, sorted, no duplicates.
  Result<std::vector<std::string>> pinned_tags(const std::string& upstream,
                                               const std::string& repo);
  // Drops all but the newest `keep` releases of `name` (their pins go with them). Returns the
  // versions dropped.
  Result<std::vector<std::string>> apply_retention(const std::string& name, int keep);
  // Drops every release of `name` whose version is not in `keep` (their pins go with them), for
  // owners that order versions themselves (semver). Returns the versions dropped.
  Result<std::vector<std::string>> retain_releases(const std::string& name,
                                                   const std::vector<std::string>& keep);
  struct ReleaseRow {
    std::string name, version;
    std::optional<std::string> base_version;
    UnixSeconds imported_at;
    std::uint64_t blobs;
  };
  Result<std::vector<ReleaseRow>> releases();

  // Bytes and count of the distinct blobs retained releases pin.
  struct Pinned {
    std::uint64_t bytes = 0;
    std::uint64_t blobs = 0;
  };
  Result<Pinned> pinned_usage();

  Result<bool> integrity_ok();  // PRAGMA integrity_check

 private:
  // The bodies on this file alone (meta_db.cpp); the public ones share (meta_share.cpp).
  Result<void> local_put_manifest(const Digest& d, const std::string& media_type,
                                  std::uint64_t size);
  Result<std::optional<ManifestRecord>> local_manifest(const Digest& d);
  Result<void> local_put_tag(const std::string& upstream, const std::string& repo,
                             const std::string& tag, const Digest& d, UnixSeconds checked_at);
  Result<void> local_forget_tag(const std::string& upstream, const std::string& repo,
                                const std::string& tag);
  Result<bool> local_note_deleted_tag(const std::string& upstream, const std::string& repo,
                                      const std::string& tag, const Digest& d, UnixSeconds at);
  Result<void> local_put_tag_list(const std::string& upstream, const std::string& repo,
                                  const std::vector<std::string>& tags, UnixSeconds fetched_at);
  Result<std::optional<UnixSeconds>> local_tag_list_fetched_at(const std::string& upstream,
                                                               const std::string& repo);
  Result<void> local_put_referrers(const std::string& upstream, const std::string& repo,
                                   const Digest& subject, const std::string& index);
  Result<std::optional<std::string>> local_referrers(const std::string& upstream,
                                                     const std::string& repo,
                                                     const Digest& subject);
  Result<void> local_put_blob(const Digest& d, std::uint64_t size);
  Result<void> local_put_helm_chart(const std::string& url, const Digest& digest);
  Result<std::optional<Digest>> local_helm_chart(const std::string& url);
  Result<void> local_record_release(const ReleaseRecord& r);
  Result<std::vector<std::string>> local_apply_retention(const std::string& name, int keep);
  // Drops the releases of `name` `drop` says to, given (id, version) newest first.
  Result<std::vector<std::string>> local_drop_releases(
      const std::string& name,
      const std::function<bool(std::size_t rank, const std::string& version)>& drop);
  Result<void> local_drop_release(const std::string& name, const std::string& version);
  // Releases the database held once (recorded there, or copied from there): one of these gone
  // from it was dropped there; one not among these was recorded here while it was down.
  Result<void> mark_release_shared(const std::string& name, const std::string& version);
  Result<bool> release_was_shared(const std::string& name, const std::string& version);
  // Pulls the database's rows of a tag into this file (those newer than its own).
  void pull_tag(const std::string& upstream, const std::string& repo, const std::string& tag);
  Result<void> merge_tag_row(const std::string& upstream, const std::string& repo,
                             const SharedMeta::TagRow& row);

  std::unique_ptr<MetaSharing> sharing_;
  Mutex mu_;
  sqlite::Db db_ GUARDED_BY(mu_);
};

}  // namespace outpost
