// MetaDb's public methods that a hub replica shares through the database (share_with), and the
// copying between the database and this file. Each writes here first: a database that is down
// never fails a request.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "store/meta_db.hpp"

namespace outpost {

void MetaDb::share_with(SharedMeta& shared, Millis retry_after) {
  sharing_ = std::make_unique<MetaSharing>(shared, retry_after);
}

std::optional<SharingState> MetaDb::sharing() const {
  if (!sharing_) return std::nullopt;
  return sharing_->state();
}

Result<void> MetaDb::put_manifest(const Digest& d, const std::string& media_type,
                                  std::uint64_t size, const std::vector<Digest>& children) {
  if (auto r = local_put_manifest(d, media_type, size); !r) return r;
  if (sharing_)
    sharing_->write([&](SharedMeta& s) { return s.put_manifest(d, media_type, size, children); });
  return {};
}

Result<std::optional<ManifestRecord>> MetaDb::manifest(const Digest& d) {
  auto here = local_manifest(d);
  if (!sharing_ || !here || *here) return here;
  auto there = sharing_->read([&](SharedMeta& s) { return s.manifest(d); });
  if (!there || !*there) return here;
  (void)local_put_manifest(d, (*there)->media_type, (*there)->size);
  return *there;
}

Result<void> MetaDb::put_tag(const std::string& upstream, const std::string& repo,
                             const std::string& tag, const Digest& d, UnixSeconds checked_at) {
  if (auto r = local_put_tag(upstream, repo, tag, d, checked_at); !r) return r;
  if (sharing_)
    sharing_->write([&](SharedMeta& s) { return s.put_tag(upstream, repo, tag, d, checked_at); });
  return {};
}

void MetaDb::pull_tag(const std::string& upstream, const std::string& repo,
                      const std::string& tag) {
  if (!sharing_) return;
  auto rows = sharing_->read([&](SharedMeta& s) { return s.tag_rows(upstream, repo, tag); });
  if (!rows) return;
  for (const auto& row : *rows)
    if (auto r = merge_tag_row(upstream, repo, row); !r)
      spdlog::warn("metadata: copying {}/{}:{} here: {}", upstream, repo, row.name,
                   r.error().message);
}

Result<void> MetaDb::merge_tag_row(const std::string& upstream, const std::string& repo,
                                   const SharedMeta::TagRow& row) {
  MutexLock lock(mu_);
  // Only a row at least as recent as this file's: a resolution made here while the database was
  // down is not undone by the older row the database kept.
  sqlite::Stmt s(db_,
                 "INSERT INTO tags(upstream, repo, tag, digest, checked_at) VALUES(?,?,?,?,?) "
                 "ON CONFLICT(upstream, repo, tag) DO UPDATE SET digest=excluded.digest, "
                 "checked_at=excluded.checked_at WHERE excluded.checked_at >= tags.checked_at");
  return s.run_with(upstream, repo, row.name, row.rec.digest.str(), row.rec.checked_at);
}

Result<void> MetaDb::forget_tag(const std::string& upstream, const std::string& repo,
                                const std::string& tag) {
  if (auto r = local_forget_tag(upstream, repo, tag); !r) return r;
  if (sharing_) sharing_->write([&](SharedMeta& s) { return s.forget_tag(upstream, repo, tag); });
  return {};
}

Result<bool> MetaDb::note_deleted_tag(const std::string& upstream, const std::string& repo,
                                      const std::string& tag, const Digest& d, UnixSeconds at) {
  auto fresh = local_note_deleted_tag(upstream, repo, tag, d, at);
  if (fresh && sharing_)
    sharing_->write([&](SharedMeta& s) { return s.note_deleted_tag(upstream, repo, tag, d, at); });
  return fresh;
}

Result<void> MetaDb::put_tag_list(const std::string& upstream, const std::string& repo,
                                  const std::vector<std::string>& tags, UnixSeconds fetched_at) {
  if (auto r = local_put_tag_list(upstream, repo, tags, fetched_at); !r) return r;
  if (sharing_)
    sharing_->write(
        [&](SharedMeta& s) { return s.put_tag_list(upstream, repo, tags, fetched_at); });
  return {};
}

Result<std::optional<UnixSeconds>> MetaDb::tag_list_fetched_at(const std::string& upstream,
                                                               const std::string& repo) {
  auto here = local_tag_list_fetched_at(upstream, repo);
  if (!sharing_ || !here) return here;
  auto there = sharing_->read([&](SharedMeta& s) { return s.tag_list_fetched_at(upstream, repo); });
  if (!there || !*there || (*here && **here >= **there)) return here;
  // A newer list another replica fetched: copied here, where the pages are read from.
  auto list = sharing_->read([&](SharedMeta& s) { return s.tag_list(upstream, repo); });
  if (!list) return here;
  if (auto r = local_put_tag_list(upstream, repo, *list, **there); !r) return here;
  return *there;
}

Result<void> MetaDb::put_referrers(const std::string& upstream, const std::string& repo,
                                   const Digest& subject, const std::string& index) {
  if (auto r = local_put_referrers(upstream, repo, subject, index); !r) return r;
  if (sharing_)
    sharing_->write([&](SharedMeta& s) { return s.put_referrers(upstream, repo, subject, index); });
  return {};
}

Result<std::optional<std::string>> MetaDb::referrers(const std::string& upstream,
                                                     const std::string& repo,
                                                     const Digest& subject) {
  if (!sharing_) return local_referrers(upstream, repo, subject);
  // Referrers change upstream (a signature added): the database's copy is the newest fetched.
  auto there = sharing_->read([&](SharedMeta& s) { return s.referrers(upstream, repo, subject); });
  if (!there || !*there) return local_referrers(upstream, repo, subject);
  (void)local_put_referrers(upstream, repo, subject, **there);
  return *there;
}

Result<void> MetaDb::put_blob(const Digest& d, std::uint64_t size) {
  if (auto r = local_put_blob(d, size); !r) return r;
  if (sharing_) sharing_->write([&](SharedMeta& s) { return s.put_blob(d, size); });
  return {};
}

Result<void> MetaDb::put_helm_chart(const std::string& url, const Digest& digest) {
  if (auto r = local_put_helm_chart(url, digest); !r) return r;
  if (sharing_) sharing_->write([&](SharedMeta& s) { return s.put_helm_chart(url, digest); });
  return {};
}

Result<std::optional<Digest>> MetaDb::helm_chart(const std::string& url) {
  auto here = local_helm_chart(url);
  if (!sharing_ || !here || *here) return here;
  auto there = sharing_->read([&](SharedMeta& s) { return s.helm_chart(url); });
  if (!there || !*there) return here;
  (void)local_put_helm_chart(url, **there);
  return *there;
}

Result<void> MetaDb::record_release(const ReleaseRecord& r) {
  if (auto x = local_record_release(r); !x) return x;
  if (sharing_ && sharing_->write([&](SharedMeta& s) { return s.record_release(r); }))
    (void)mark_release_shared(r.name, r.version);
  return {};
}

Result<std::vector<std::string>> MetaDb::apply_retention(const std::string& name, int keep) {
  auto dropped = local_apply_retention(name, keep);
  if (!dropped || !sharing_) return dropped;
  for (const auto& v : *dropped)
    sharing_->write([&](SharedMeta& s) { return s.drop_release({name, v}); });
  return dropped;
}

Result<std::vector<std::string>> MetaDb::retain_releases(const std::string& name,
                                                         const std::vector<std::string>& keep) {
  auto dropped = local_drop_releases(name, [&keep](std::size_t, const std::string& version) {
    return std::ranges::find(keep, version) == keep.end();
  });
  if (!dropped || !sharing_) return dropped;
  for (const auto& v : *dropped)
    sharing_->write([&](SharedMeta& s) { return s.drop_release({name, v}); });
  return dropped;
}

Result<MetaDb::ReleaseSync> MetaDb::sync_releases() {
  ReleaseSync out;
  if (!sharing_) return out;
  auto there = sharing_->read([](SharedMeta& s) { return s.release_keys(); });
  if (!there) return fail(Errc::upstream_unavailable, "the metadata database is not reachable");
  auto here = releases();
  if (!here) return std::unexpected(here.error());
  const std::set<SharedMeta::ReleaseKey> theirs(there->begin(), there->end());
  std::set<SharedMeta::ReleaseKey> ours;
  for (const auto& r : *here) ours.insert({r.name, r.version});
  for (const auto& k : theirs) {
    if (ours.contains(k)) {
      (void)mark_release_shared(k.name, k.version);
      continue;
    }
    auto rec = sharing_->read([&](SharedMeta& s) { return s.release(k); });
    if (!rec || !*rec) continue;
    if (auto x = local_record_release(**rec); !x) return std::unexpected(x.error());
    (void)mark_release_shared(k.name, k.version);
    ++out.pulled;
  }
  for (const auto& k : ours) {
    if (theirs.contains(k)) continue;
    auto was = release_was_shared(k.name, k.version);
    if (!was) return std::unexpected(was.error());
    if (*was) {  // retention dropped it there
      if (auto x = local_drop_release(k.name, k.version); !x) return std::unexpected(x.error());
      ++out.dropped;
      continue;
    }
    auto rec = release(k.name, k.version);
    if (!rec || !*rec) continue;
    if (sharing_->write([&](SharedMeta& s) { return s.record_release(**rec); })) {
      (void)mark_release_shared(k.name, k.version);
      ++out.pushed;
    }
  }
  return out;
}

}  // namespace outpost
