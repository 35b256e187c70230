// MetaDb::export_rows: every row this file holds that hub replicas share, for
// `outpost storage migrate` (copied into metadata.postgres).
#include "store/meta_db.hpp"

namespace outpost {

namespace {

// Runs `sql` (no parameters) and hands each row to `row`. REQUIRES: the MetaDb lock.
template <class F>
Result<void> each(sqlite::Db& db, const char* sql, F&& row) {
  sqlite::Stmt s(db, sql);
  return s.each_row([&] { row(s); });
}

}  // namespace

Result<MetaDb::Exported> MetaDb::export_rows(const ExportSink& to) {
  Exported n;
  std::vector<std::pair<std::string, std::string>> listed;
  std::vector<std::pair<std::string, std::string>> release_keys;
  {
    MutexLock lock(mu_);
    auto r = each(db_, "SELECT digest, media_type, size FROM manifests", [&](sqlite::Stmt& s) {
      if (auto d = Digest::parse(s.text(0))) {
        to.manifest(*d, s.text(1), std::uint64_t(s.integer(2)));
        ++n.manifests;
      }
    });
    if (r)
      r = each(db_, "SELECT upstream, repo, tag, digest, checked_at FROM tags", [&](auto& s) {
        if (auto d = Digest::parse(s.text(3))) {
          to.tag(s.text(0), s.text(1), s.text(2), *d, s.integer(4));
          ++n.tags;
        }
      });
    if (r)
      r = each(db_, "SELECT digest, size FROM blobs", [&](sqlite::Stmt& s) {
        if (auto d = Digest::parse(s.text(0))) {
          to.blob(*d, std::uint64_t(s.integer(1)));
          ++n.blobs;
        }
      });
    if (r)
      r = each(db_, "SELECT upstream, repo, subject, body FROM referrers", [&](auto& s) {
        if (auto d = Digest::parse(s.text(2))) to.referrers(s.text(0), s.text(1), *d, s.text(3));
      });
    if (r)
      r = each(db_, "SELECT url, digest FROM helm_charts", [&](sqlite::Stmt& s) {
        if (auto d = Digest::parse(s.text(1))) to.helm_chart(s.text(0), *d);
      });
    if (r)
      r = each(db_, "SELECT upstream, repo FROM tag_lists WHERE tags=''",
               [&](auto& s) { listed.emplace_back(s.text(0), s.text(1)); });
    if (r)
      r = each(db_, "SELECT name, version FROM releases ORDER BY id",
               [&](auto& s) { release_keys.emplace_back(s.text(0), s.text(1)); });
    if (!r) return std::unexpected(r.error());
  }
  for (const auto& [upstream, repo] : listed) {
    auto at = local_tag_list_fetched_at(upstream, repo);
    auto tags = tag_list_page(upstream, repo, "", std::size_t(-1), TagSource::listed);
    if (!at || !tags) return std::unexpected(!at ? at.error() : tags.error());
    if (*at) to.tag_list(upstream, repo, *tags, **at);
    ++n.tag_lists;
  }
  for (const auto& [name, version] : release_keys) {
    auto rec = release(name, version);
    if (!rec) return std::unexpected(rec.error());
    if (*rec) to.release(**rec);
    ++n.releases;
  }
  return n;
}

}  // namespace outpost
