#include "store/meta_db.hpp"

#include <limits>
#include <map>
#include <set>
#include <tuple>

#include <stdexcept>

namespace outpost {

namespace {
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS manifests(
  digest TEXT PRIMARY KEY, media_type TEXT NOT NULL, size INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags(
  upstream TEXT NOT NULL, repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
  checked_at INTEGER NOT NULL, PRIMARY KEY(upstream, repo, tag));
CREATE TABLE IF NOT EXISTS blobs(
  digest TEXT PRIMARY KEY, size INTEGER NOT NULL, created_at INTEGER NOT NULL,
  last_access INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS git_repos(
  host TEXT NOT NULL, path TEXT NOT NULL, last_success INTEGER, last_error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(host, path));
CREATE TABLE IF NOT EXISTS releases(
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL,
  base_version TEXT, imported_at INTEGER NOT NULL, UNIQUE(name, version));
CREATE TABLE IF NOT EXISTS release_blobs(
  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE, digest TEXT NOT NULL,
  PRIMARY KEY(release_id, digest));
CREATE TABLE IF NOT EXISTS release_tags(
  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE, upstream TEXT NOT NULL,
  repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
  PRIMARY KEY(release_id, upstream, repo, tag));
CREATE INDEX IF NOT EXISTS release_tags_lookup ON release_tags(upstream, repo, tag);
CREATE TABLE IF NOT EXISTS release_charts(
  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE, repo TEXT NOT NULL,
  name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, entry TEXT NOT NULL,
  PRIMARY KEY(release_id, repo, name, version));
CREATE TABLE IF NOT EXISTS helm_charts(
  url TEXT PRIMARY KEY, digest TEXT NOT NULL, fetched_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tag_lists(
  upstream TEXT NOT NULL, repo TEXT NOT NULL, tags TEXT NOT NULL, fetched_at INTEGER NOT NULL,
  PRIMARY KEY(upstream, repo));
CREATE TABLE IF NOT EXISTS listed_tags(
  upstream TEXT NOT NULL, repo TEXT NOT NULL, tag TEXT NOT NULL,
  PRIMARY KEY(upstream, repo, tag)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS referrers(
  upstream TEXT NOT NULL, repo TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
  fetched_at INTEGER NOT NULL, PRIMARY KEY(upstream, repo, subject));
CREATE TABLE IF NOT EXISTS deleted_tags(
  upstream TEXT NOT NULL, repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
  noticed_at INTEGER NOT NULL, PRIMARY KEY(upstream, repo, tag));
CREATE TABLE IF NOT EXISTS releases_shared(
  name TEXT NOT NULL, version TEXT NOT NULL, PRIMARY KEY(name, version));
PRAGMA user_version=1;
)sql";
}  // namespace

MetaDb::MetaDb(const std::filesystem::path& file) : db_(file.string()) {
  if (auto r = db_.exec(kSchema); !r) throw std::runtime_error(r.error().message);
}

MetaDb::~MetaDb() = default;

Result<void> MetaDb::local_put_manifest(const Digest& d, const std::string& media_type,
                                        std::uint64_t size) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "INSERT INTO manifests(digest, media_type, size, created_at) VALUES(?,?,?,?) "
                 "ON CONFLICT(digest) DO UPDATE SET media_type=excluded.media_type");
  return s.run_with(d.str(), media_type, std::int64_t(size), unix_now());
}

Result<std::optional<ManifestRecord>> MetaDb::local_manifest(const Digest& d) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT media_type, size FROM manifests WHERE digest=?");
  s.bind(1, d.str());
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ManifestRecord>();
  return std::optional<ManifestRecord>(ManifestRecord{s.text(0), std::uint64_t(s.integer(1))});
}

Result<void> MetaDb::local_put_tag(const std::string& upstream, const std::string& repo,
                                   const std::string& tag, const Digest& d,
                                   UnixSeconds checked_at) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "INSERT INTO tags(upstream, repo, tag, digest, checked_at) VALUES(?,?,?,?,?) "
                 "ON CONFLICT(upstream, repo, tag) DO UPDATE SET digest=excluded.digest, "
                 "checked_at=excluded.checked_at");
  if (auto r = s.run_with(upstream, repo, tag, d.str(), checked_at); !r) return r;
  sqlite::Stmt gone(db_, "DELETE FROM deleted_tags WHERE upstream=? AND repo=? AND tag=?");
  return gone.run_with(upstream, repo, tag);
}

Result<bool> MetaDb::local_note_deleted_tag(const std::string& upstream, const std::string& repo,
                                            const std::string& tag, const Digest& d,
                                            UnixSeconds at) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "INSERT OR IGNORE INTO deleted_tags(upstream, repo, tag, digest, noticed_at) "
                 "VALUES(?,?,?,?,?)");
  if (auto r = s.run_with(upstream, repo, tag, d.str(), at); !r) return std::unexpected(r.error());
  return sqlite3_changes(db_.handle()) > 0;
}

Result<std::vector<MetaDb::DeletedTag>> MetaDb::deleted_tags() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT upstream, repo, tag, digest, noticed_at FROM deleted_tags "
                 "ORDER BY upstream, repo, tag");
  std::vector<DeletedTag> out;
  auto each = s.each_row([&] {
    if (auto d = Digest::parse(s.text(3)))
      out.push_back({s.text(0), s.text(1), s.text(2), *d, s.integer(4)});
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

namespace {

// The first row of a (digest, checked_at) query on tags, for `repo`:`tag` in errors.
Result<std::optional<TagRecord>> tag_row(sqlite::Stmt& s, const std::string& repo,
                                         const std::string& tag) {
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<TagRecord>();
  auto d = Digest::parse(s.text(0));
  if (!d) return fail(Errc::io, "meta.db holds a malformed digest for " + repo + ":" + tag);
  return std::optional<TagRecord>(TagRecord{*d, s.integer(1)});
}

// A tag's rows, its own and `<tag>#<types>`, are the key range [tag, tag + '$'): '#' is the one
// character below '$' a row name holds, and every tag character is above it. A range, not a
// pattern, so the primary key index finds them (an OR of patterns scanned the repository).
enum class FormOrder {
  own_first,    // the tag's own row (every type accepted), else the form resolved last
  newest_first  // by checked_at
};
struct TagForm {
  TagRecord rec;
  std::optional<UnixSeconds> last_access;  // of the manifest blob
};
// Up to `limit` forms of upstream/repo:tag, in `order`. REQUIRES: the MetaDb lock.
Result<std::vector<TagForm>> tag_forms_of(sqlite::Db& db, const std::string& upstream,
                                          const std::string& repo, const std::string& tag,
                                          FormOrder order, std::int64_t limit) {
  sqlite::Stmt s(db, std::string("SELECT t.digest, t.checked_at, b.last_access FROM tags t "
                                 "LEFT JOIN blobs b ON b.digest = t.digest WHERE t.upstream=?1 "
                                 "AND t.repo=?2 AND t.tag >= ?3 AND t.tag < ?3 || '$' ORDER BY ") +
                         (order == FormOrder::own_first ? "t.tag=?3 DESC, t.checked_at DESC"
                                                        : "t.checked_at DESC, t.tag=?3 DESC") +
                         " LIMIT ?4");
  s.bind(1, upstream).bind(2, repo).bind(3, tag).bind(4, limit);
  std::vector<TagForm> out;
  bool malformed = false;
  auto each = s.each_row([&] {
    auto d = Digest::parse(s.text(0));
    if (!d) {
      malformed = true;
      return;
    }
    out.push_back({{*d, s.integer(1)},
                   s.is_null(2) ? std::nullopt : std::optional<UnixSeconds>(s.integer(2))});
  });
  if (!each) return std::unexpected(each.error());
  if (malformed) return fail(Errc::io, "meta.db holds a malformed digest for " + repo + ":" + tag);
  return out;
}

}  // namespace

Result<std::optional<TagRecord>> MetaDb::tag(const std::string& upstream, const std::string& repo,
                                             const std::string& tag) {
  pull_tag(upstream, repo, tag);
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest, checked_at FROM tags WHERE upstream=? AND repo=? AND tag=?");
  s.bind(1, upstream).bind(2, repo).bind(3, tag);
  return tag_row(s, repo, tag);
}

Result<std::optional<TagRecord>> MetaDb::tag_any_accept(const std::string& upstream,
                                                        const std::string& repo,
                                                        const std::string& tag) {
  pull_tag(upstream, repo, tag);
  MutexLock lock(mu_);
  auto forms = tag_forms_of(db_, upstream, repo, tag, FormOrder::own_first, 1);
  if (!forms) return std::unexpected(forms.error());
  if (forms->empty()) return std::optional<TagRecord>();
  return std::optional<TagRecord>(forms->front().rec);
}

Result<std::vector<TagRecord>> MetaDb::tag_forms(const std::string& upstream,
                                                 const std::string& repo, const std::string& tag) {
  pull_tag(upstream, repo, tag);
  MutexLock lock(mu_);
  auto forms = tag_forms_of(db_, upstream, repo, tag, FormOrder::newest_first, -1);
  if (!forms) return std::unexpected(forms.error());
  std::vector<TagRecord> out;
  for (const auto& f : *forms) out.push_back(f.rec);
  return out;
}

Result<std::vector<std::string>> MetaDb::tags(const std::string& upstream,
                                              const std::string& repo) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT tag FROM tags WHERE upstream=? AND repo=? AND instr(tag, '#')=0 "
                 "ORDER BY tag");
  s.bind(1, upstream).bind(2, repo);
  std::vector<std::string> out;
  auto each = s.each_row([&] { out.push_back(s.text(0)); });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<void> MetaDb::local_forget_tag(const std::string& upstream, const std::string& repo,
                                      const std::string& tag) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "DELETE FROM tags WHERE upstream=? AND repo=? AND tag=?");
  if (auto r = s.run_with(upstream, repo, tag); !r) return r;
  sqlite::Stmt gone(db_, "DELETE FROM deleted_tags WHERE upstream=? AND repo=? AND tag=?");
  return gone.run_with(upstream, repo, tag);
}

Result<void> MetaDb::local_put_tag_list(const std::string& upstream, const std::string& repo,
                                        const std::vector<std::string>& tags,
                                        UnixSeconds fetched_at) {
  MutexLock lock(mu_);
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return db_.error("begin");
  sqlite::Stmt clear(db_, "DELETE FROM listed_tags WHERE upstream=? AND repo=?");
  if (auto r = clear.run_with(upstream, repo); !r) return r;
  sqlite::Stmt add(db_, "INSERT OR IGNORE INTO listed_tags(upstream, repo, tag) VALUES(?,?,?)");
  for (const auto& t : tags) {
    if (auto r = add.run_with(upstream, repo, t); !r) return r;
  }
  // `tags` is the old one-document form, kept empty ('' marks the rows as the list).
  sqlite::Stmt s(
      db_,
      "INSERT INTO tag_lists(upstream, repo, tags, fetched_at) VALUES(?,?,'',?) "
      "ON CONFLICT(upstream, repo) DO UPDATE SET tags='', fetched_at=excluded.fetched_at");
  if (auto r = s.run_with(upstream, repo, fetched_at); !r) return r;
  return tx.commit();
}

Result<std::optional<UnixSeconds>> MetaDb::local_tag_list_fetched_at(const std::string& upstream,
                                                                     const std::string& repo) {
  MutexLock lock(mu_);
  // A list stored in the old one-document form (before the rows) counts as none: it is fetched
  // again.
  sqlite::Stmt s(db_, "SELECT fetched_at FROM tag_lists WHERE upstream=? AND repo=? AND tags=''");
  s.bind(1, upstream).bind(2, repo);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<UnixSeconds>();
  return std::optional<UnixSeconds>(s.integer(0));
}

Result<std::vector<std::string>> MetaDb::tag_list_page(const std::string& upstream,
                                                       const std::string& repo,
                                                       const std::string& last, std::size_t limit,
                                                       TagSource from) {
  MutexLock lock(mu_);
  const char* listed =
      "SELECT tag FROM listed_tags WHERE upstream=?1 AND repo=?2 AND tag>?3 ORDER BY tag LIMIT ?4";
  const char* both =
      "SELECT tag FROM (SELECT tag FROM listed_tags WHERE upstream=?1 AND repo=?2 AND tag>?3 "
      "ORDER BY tag LIMIT ?4) UNION SELECT tag FROM (SELECT tag FROM tags WHERE upstream=?1 AND "
      "repo=?2 AND tag>?3 AND instr(tag, '#')=0 ORDER BY tag LIMIT ?4) ORDER BY tag LIMIT ?4";
  sqlite::Stmt s(db_, from == TagSource::listed ? listed : both);
  s.bind(1, upstream).bind(2, repo).bind(3, last);
  s.bind(4, static_cast<std::int64_t>(
                std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
  std::vector<std::string> out;
  auto each = s.each_row([&] { out.push_back(s.text(0)); });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<void> MetaDb::local_put_referrers(const std::string& upstream, const std::string& repo,
                                         const Digest& subject, const std::string& index) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "INSERT INTO referrers(upstream, repo, subject, body, fetched_at) "
                 "VALUES(?,?,?,?,?) ON CONFLICT(upstream, repo, subject) DO UPDATE SET "
                 "body=excluded.body, fetched_at=excluded.fetched_at");
  return s.run_with(upstream, repo, subject.str(), index, unix_now());
}

Result<std::optional<std::string>> MetaDb::local_referrers(const std::string& upstream,
                                                           const std::string& repo,
                                                           const Digest& subject) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT body FROM referrers WHERE upstream=? AND repo=? AND subject=?");
  s.bind(1, upstream).bind(2, repo).bind(3, subject.str());
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(s.text(0));
}

Result<void> MetaDb::local_put_blob(const Digest& d, std::uint64_t size) {
  MutexLock lock(mu_);
  auto now = unix_now();
  sqlite::Stmt s(db_,
                 "INSERT INTO blobs(digest, size, created_at, last_access) VALUES(?,?,?,?) "
                 "ON CONFLICT(digest) DO UPDATE SET last_access=excluded.last_access");
  return s.run_with(d.str(), std::int64_t(size), now, now);
}

Result<void> MetaDb::remove_blob(const Digest& d) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "DELETE FROM blobs WHERE digest=?");
  return s.run_with(d.str());
}

Result<void> MetaDb::remove_manifest(const Digest& d) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "DELETE FROM manifests WHERE digest=?");
  return s.run_with(d.str());
}

Result<std::vector<MetaDb::BlobRow>> MetaDb::blobs() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest, size FROM blobs ORDER BY digest");
  std::vector<BlobRow> out;
  auto each = s.each_row([&] {
    if (auto d = Digest::parse(s.text(0))) out.push_back({*d, std::uint64_t(s.integer(1))});
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<std::vector<MetaDb::BlobRow>> MetaDb::blobs_by_last_access() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest, size FROM blobs ORDER BY last_access, digest");
  std::vector<BlobRow> out;
  auto each = s.each_row([&] {
    if (auto d = Digest::parse(s.text(0))) out.push_back({*d, std::uint64_t(s.integer(1))});
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<void> MetaDb::touch_blob(const Digest& d) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "UPDATE blobs SET last_access=? WHERE digest=?");
  return s.run_with(unix_now(), d.str());
}

Result<std::vector<Digest>> MetaDb::pinned_digests() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT DISTINCT digest FROM release_blobs");
  std::vector<Digest> out;
  auto each = s.each_row([&] {
    if (auto d = Digest::parse(s.text(0))) out.push_back(*d);
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<std::vector<Digest>> MetaDb::manifest_digests() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest FROM manifests ORDER BY digest");
  std::vector<Digest> out;
  auto each = s.each_row([&] {
    if (auto d = Digest::parse(s.text(0))) out.push_back(*d);
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<std::vector<MetaDb::ImageKey>> MetaDb::image_keys(const std::optional<ImageKey>& after,
                                                         std::size_t n) {
  const ImageKey from = after.value_or(ImageKey{});
  std::set<ImageKey> keys;
  MutexLock lock(mu_);
  // Tags resolved here, by the primary key. `<tag>#<types>` rows sort right after `<tag>` and
  // before any longer tag ('#' is below every tag character), so `<tag>$` skips them all.
  sqlite::Stmt tags(
      db_,
      "SELECT upstream, repo, tag FROM tags WHERE (upstream, repo, tag) > (?1, ?2, ?3) "
      "AND upstream != ?4 ORDER BY upstream, repo, tag");
  tags.bind(1, from.upstream).bind(2, from.repo).bind(3, after ? from.tag + "$" : std::string());
  tags.bind(4, kReleasesUpstream);
  while (keys.size() < n) {
    auto row = tags.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    auto tag = tags.text(2);
    if (auto hash = tag.find('#'); hash != std::string::npos) tag.resize(hash);
    keys.insert({tags.text(0), tags.text(1), std::move(tag)});
  }
  // Tags only a retained release pins.
  sqlite::Stmt pins(db_,
                    "SELECT DISTINCT upstream, repo, tag FROM release_tags "
                    "WHERE (upstream, repo, tag) > (?1, ?2, ?3) AND upstream != ?4 "
                    "ORDER BY upstream, repo, tag LIMIT ?5");
  pins.bind(1, from.upstream).bind(2, from.repo).bind(3, from.tag).bind(4, kReleasesUpstream);
  pins.bind(5, static_cast<std::int64_t>(n));
  auto each = pins.each_row([&] { keys.insert({pins.text(0), pins.text(1), pins.text(2)}); });
  if (!each) return std::unexpected(each.error());
  std::vector<ImageKey> out;
  for (auto it = keys.begin(); it != keys.end() && out.size() < n; ++it) out.push_back(*it);
  return out;
}

Result<std::uint64_t> MetaDb::image_key_count() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT COUNT(*) FROM (SELECT upstream, repo, CASE WHEN instr(tag, '#') > 0 THEN "
                 "substr(tag, 1, instr(tag, '#') - 1) ELSE tag END FROM tags WHERE upstream != ?1 "
                 "UNION SELECT upstream, repo, tag FROM release_tags WHERE upstream != ?1)");
  s.bind(1, kReleasesUpstream);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return *row ? static_cast<std::uint64_t>(s.integer(0)) : 0;
}

Result<std::optional<MetaDb::ImageTagRow>> MetaDb::image_tag(const ImageKey& key) {
  MutexLock lock(mu_);
  std::optional<ImageTagRow> out;
  auto forms = tag_forms_of(db_, key.upstream, key.repo, key.tag, FormOrder::own_first, 1);
  if (!forms) return std::unexpected(forms.error());
  if (!forms->empty()) {
    const auto& f = forms->front();
    out = ImageTagRow{key.upstream,     key.repo,      key.tag, f.rec.digest,
                      f.rec.checked_at, f.last_access, {}};
  }
  sqlite::Stmt pins(db_,
                    "SELECT rt.digest, r.name, r.version, b.last_access FROM release_tags rt "
                    "JOIN releases r ON r.id = rt.release_id LEFT JOIN blobs b ON b.digest = "
                    "rt.digest WHERE rt.upstream=? AND rt.repo=? AND rt.tag=? ORDER BY r.id DESC");
  pins.bind(1, key.upstream).bind(2, key.repo).bind(3, key.tag);
  auto each = pins.each_row([&] {
    auto d = Digest::parse(pins.text(0));
    if (!d) return;
    std::optional<UnixSeconds> last;
    if (!pins.is_null(3)) last = pins.integer(3);
    if (!out) out = ImageTagRow{key.upstream, key.repo, key.tag, *d, 0, last, {}};
    if (out->releases.empty()) {  // the newest release's digest is the one served
      out->digest = *d;
      out->last_access = last;
    }
    out->releases.push_back(pins.text(1) + " " + pins.text(2));
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<void> MetaDb::put_git_repo(const GitRepoRow& row) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "INSERT INTO git_repos(host, path, last_success, last_error) VALUES(?,?,?,?) "
                 "ON CONFLICT(host, path) DO UPDATE SET "
                 "last_success=COALESCE(excluded.last_success, last_success), "
                 "last_error=excluded.last_error");
  s.bind(1, row.host).bind(2, row.path).bind(4, row.last_error);
  if (row.last_success) s.bind(3, *row.last_success);
  return s.run();
}

Result<std::vector<MetaDb::GitRepoRow>> MetaDb::git_repos() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT host, path, last_success, last_error FROM git_repos ORDER BY host, path");
  std::vector<GitRepoRow> out;
  auto each = s.each_row([&] {
    GitRepoRow r{s.text(0), s.text(1), std::nullopt, s.text(3)};
    if (!s.is_null(2)) r.last_success = s.integer(2);
    out.push_back(std::move(r));
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<void> MetaDb::local_record_release(const ReleaseRecord& r) {
  MutexLock lock(mu_);
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return db_.error("begin");
  auto now = unix_now();
  {
    sqlite::Stmt del(db_, "DELETE FROM releases WHERE name=? AND version=?");
    if (auto x = del.run_with(r.name, r.version); !x) return x;
    // Recorded anew: not known to the shared database until marked again (meta_share.cpp).
    sqlite::Stmt known(db_, "DELETE FROM releases_shared WHERE name=? AND version=?");
    if (auto x = known.run_with(r.name, r.version); !x) return x;
  }
  sqlite::Stmt ins(
      db_, "INSERT INTO releases(name, version, base_version, imported_at) VALUES(?,?,?,?)");
  ins.bind(1, r.name).bind(2, r.version).bind(4, now);
  if (r.base_version) ins.bind(3, *r.base_version);
  if (auto x = ins.run(); !x) return x;
  auto id = static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_.handle()));
  sqlite::Stmt pin(db_, "INSERT OR IGNORE INTO release_blobs(release_id, digest) VALUES(?,?)");
  sqlite::Stmt blob(db_,
                    "INSERT INTO blobs(digest, size, created_at, last_access) VALUES(?,?,?,?) "
                    "ON CONFLICT(digest) DO UPDATE SET last_access=excluded.last_access");
  sqlite::Stmt man(db_,
                   "INSERT INTO manifests(digest, media_type, size, created_at) VALUES(?,?,?,?) "
                   "ON CONFLICT(digest) DO UPDATE SET media_type=excluded.media_type");
  for (const auto& b : r.blobs) {
    if (auto x = pin.run_with(id, b.digest.str()); !x) return x;
    if (auto x = blob.run_with(b.digest.str(), std::int64_t(b.size), now, now); !x) return x;
    if (!b.manifest_media_type.empty()) {
      if (auto x = man.run_with(b.digest.str(), b.manifest_media_type, std::int64_t(b.size), now);
          !x)
        return x;
    }
  }
  sqlite::Stmt tag(db_,
                   "INSERT OR REPLACE INTO release_tags(release_id, upstream, repo, tag, digest) "
                   "VALUES(?,?,?,?,?)");
  sqlite::Stmt seen(db_,
                    "INSERT INTO tags(upstream, repo, tag, digest, checked_at) VALUES(?,?,?,?,0) "
                    "ON CONFLICT(upstream, repo, tag) DO UPDATE SET digest=excluded.digest");
  for (const auto& t : r.tags) {
    if (auto x = tag.run_with(id, t.upstream, t.repo, t.tag, t.digest.str()); !x) return x;
    if (auto x = seen.run_with(t.upstream, t.repo, t.tag, t.digest.str()); !x) return x;
  }
  sqlite::Stmt chart(db_,
                     "INSERT OR REPLACE INTO release_charts(release_id, repo, name, version, "
                     "digest, entry) VALUES(?,?,?,?,?,?)");
  for (const auto& c : r.charts) {
    if (auto x = chart.run_with(id, c.repo, c.name, c.version, c.digest.str(), c.entry_json); !x)
      return x;
  }
  return tx.commit();
}

Result<std::vector<MetaDb::ReleaseRecord::Chart>> MetaDb::release_charts(const std::string& repo) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT repo, name, version, digest, entry FROM release_charts WHERE repo=? "
                 "ORDER BY release_id DESC");
  s.bind(1, repo);
  std::vector<ReleaseRecord::Chart> out;
  bool malformed = false;
  auto each = s.each_row([&] {
    auto d = Digest::parse(s.text(3));
    if (!d) {
      malformed = true;
      return;
    }
    out.push_back({s.text(0), s.text(1), s.text(2), *d, s.text(4)});
  });
  if (!each) return std::unexpected(each.error());
  if (malformed) return fail(Errc::io, "meta.db holds a malformed chart digest");
  return out;
}

Result<void> MetaDb::local_put_helm_chart(const std::string& url, const Digest& digest) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "INSERT OR REPLACE INTO helm_charts(url, digest, fetched_at) VALUES(?,?,?)");
  return s.run_with(url, digest.str(), unix_now());
}

Result<std::optional<Digest>> MetaDb::local_helm_chart(const std::string& url) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest FROM helm_charts WHERE url=?");
  s.bind(1, url);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<Digest>();
  auto d = Digest::parse(s.text(0));
  if (!d) return fail(Errc::io, "meta.db holds a malformed chart digest");
  return std::optional<Digest>(*d);
}

Result<MetaDb::Pinned> MetaDb::pinned_usage() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT COALESCE(SUM(b.size), 0), COUNT(*) FROM blobs b WHERE b.digest IN "
                 "(SELECT digest FROM release_blobs)");
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return Pinned{static_cast<std::uint64_t>(s.integer(0)), static_cast<std::uint64_t>(s.integer(1))};
}

Result<bool> MetaDb::has_release(const std::string& name, const std::string& version) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT 1 FROM releases WHERE name=? AND version=?");
  s.bind(1, name).bind(2, version);
  return s.step();
}

Result<std::vector<Digest>> MetaDb::release_blobs(const std::string& name,
                                                  const std::string& version) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT b.digest FROM release_blobs b JOIN releases r ON r.id=b.release_id "
                 "WHERE r.name=? AND r.version=?");
  s.bind(1, name).bind(2, version);
  std::vector<Digest> out;
  auto each = s.each_row([&] {
    if (auto d = Digest::parse(s.text(0))) out.push_back(*d);
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<std::optional<Digest>> MetaDb::pinned_tag(const std::string& upstream,
                                                 const std::string& repo, const std::string& tag) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT digest FROM release_tags WHERE upstream=? AND repo=? AND tag=? "
                 "ORDER BY release_id DESC LIMIT 1");
  s.bind(1, upstream).bind(2, repo).bind(3, tag);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<Digest>();
  auto d = Digest::parse(s.text(0));
  if (!d) return fail(Errc::io, "meta.db holds a malformed pinned digest");
  return std::optional<Digest>(*d);
}

Result<std::vector<std::string>> MetaDb::pinned_tags(const std::string& upstream,
                                                     const std::string& repo) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT DISTINCT tag FROM release_tags WHERE upstream=? AND repo=? ORDER BY tag");
  s.bind(1, upstream).bind(2, repo);
  std::vector<std::string> out;
  auto each = s.each_row([&] { out.push_back(s.text(0)); });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<std::vector<std::string>> MetaDb::local_apply_retention(const std::string& name, int keep) {
  return local_drop_releases(name, [keep](std::size_t rank, const std::string&) {
    return rank >= static_cast<std::size_t>(std::max(keep, 0));
  });
}

Result<std::vector<std::string>> MetaDb::local_drop_releases(
    const std::string& name,
    const std::function<bool(std::size_t rank, const std::string& version)>& drop) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT id, version FROM releases WHERE name=? ORDER BY id DESC");
  s.bind(1, name);
  std::vector<std::pair<std::int64_t, std::string>> all;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    all.emplace_back(s.integer(0), s.text(1));
  }
  std::vector<std::string> dropped;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!drop(i, all[i].second)) continue;
    sqlite::Stmt del(db_, "DELETE FROM releases WHERE id=?");
    if (auto x = del.run_with(all[i].first); !x) return std::unexpected(x.error());
    dropped.push_back(all[i].second);
  }
  return dropped;
}

Result<std::vector<MetaDb::ReleaseRow>> MetaDb::releases() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT r.name, r.version, r.base_version, r.imported_at, "
                 "(SELECT COUNT(*) FROM release_blobs b WHERE b.release_id=r.id) "
                 "FROM releases r ORDER BY r.name, r.id");
  std::vector<ReleaseRow> out;
  auto each = s.each_row([&] {
    ReleaseRow r{s.text(0), s.text(1), std::nullopt, s.integer(3), std::uint64_t(s.integer(4))};
    if (!s.is_null(2)) r.base_version = s.text(2);
    out.push_back(std::move(r));
  });
  if (!each) return std::unexpected(each.error());
  return out;
}

Result<void> MetaDb::local_drop_release(const std::string& name, const std::string& version) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "DELETE FROM releases WHERE name=? AND version=?");
  if (auto r = s.run_with(name, version); !r) return r;
  sqlite::Stmt known(db_, "DELETE FROM releases_shared WHERE name=? AND version=?");
  return known.run_with(name, version);
}

Result<void> MetaDb::mark_release_shared(const std::string& name, const std::string& version) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "INSERT OR IGNORE INTO releases_shared(name, version) VALUES(?,?)");
  return s.run_with(name, version);
}

Result<bool> MetaDb::release_was_shared(const std::string& name, const std::string& version) {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "SELECT 1 FROM releases_shared WHERE name=? AND version=?");
  s.bind(1, name).bind(2, version);
  return s.step();
}

Result<std::optional<ReleaseRecord>> MetaDb::release(const std::string& name,
                                                     const std::string& version) {
  MutexLock lock(mu_);
  sqlite::Stmt head(db_, "SELECT id, base_version FROM releases WHERE name=? AND version=?");
  head.bind(1, name).bind(2, version);
  auto row = head.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ReleaseRecord>();
  ReleaseRecord r{name, version, std::nullopt, {}, {}, {}};
  const auto id = head.integer(0);
  if (!head.is_null(1)) r.base_version = head.text(1);
  sqlite::Stmt blobs(db_,
                     "SELECT rb.digest, COALESCE(b.size, m.size, 0), COALESCE(m.media_type, '') "
                     "FROM release_blobs rb LEFT JOIN blobs b ON b.digest=rb.digest LEFT JOIN "
                     "manifests m ON m.digest=rb.digest WHERE rb.release_id=? ORDER BY rb.digest");
  blobs.bind(1, id);
  auto each = blobs.each_row([&] {
    if (auto d = Digest::parse(blobs.text(0)))
      r.blobs.push_back({*d, std::uint64_t(blobs.integer(1)), blobs.text(2)});
  });
  if (!each) return std::unexpected(each.error());
  sqlite::Stmt tags(db_,
                    "SELECT upstream, repo, tag, digest FROM release_tags WHERE release_id=? "
                    "ORDER BY upstream, repo, tag");
  tags.bind(1, id);
  each = tags.each_row([&] {
    if (auto d = Digest::parse(tags.text(3)))
      r.tags.push_back({tags.text(0), tags.text(1), tags.text(2), *d});
  });
  if (!each) return std::unexpected(each.error());
  sqlite::Stmt charts(db_,
                      "SELECT repo, name, version, digest, entry FROM release_charts WHERE "
                      "release_id=? ORDER BY repo, name, version");
  charts.bind(1, id);
  each = charts.each_row([&] {
    if (auto d = Digest::parse(charts.text(3)))
      r.charts.push_back({charts.text(0), charts.text(1), charts.text(2), *d, charts.text(4)});
  });
  if (!each) return std::unexpected(each.error());
  return std::optional<ReleaseRecord>(std::move(r));
}

Result<bool> MetaDb::integrity_ok() {
  MutexLock lock(mu_);
  sqlite::Stmt s(db_, "PRAGMA integrity_check");
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return *row && s.text(0) == "ok";
}

}  // namespace outpost
