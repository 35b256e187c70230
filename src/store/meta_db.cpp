#include "store/meta_db.hpp"

#include <stdexcept>

namespace outpost {

UnixSeconds unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
PRAGMA user_version=1;
)sql";
}  // namespace

MetaDb::MetaDb(const std::filesystem::path& file) : db_(file.string()) {
  if (auto r = db_.exec(kSchema); !r) throw std::runtime_error(r.error().message);
}

Result<void> MetaDb::put_manifest(const Digest& d, const std::string& media_type,
                                  std::uint64_t size) {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_,
                 "INSERT INTO manifests(digest, media_type, size, created_at) VALUES(?,?,?,?) "
                 "ON CONFLICT(digest) DO UPDATE SET media_type=excluded.media_type");
  return s.bind(1, d.str())
      .bind(2, media_type)
      .bind(3, std::int64_t(size))
      .bind(4, unix_now())
      .run();
}

Result<std::optional<ManifestRecord>> MetaDb::manifest(const Digest& d) {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "SELECT media_type, size FROM manifests WHERE digest=?");
  s.bind(1, d.str());
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ManifestRecord>();
  return std::optional<ManifestRecord>(ManifestRecord{s.text(0), std::uint64_t(s.integer(1))});
}

Result<void> MetaDb::put_tag(const std::string& upstream, const std::string& repo,
                             const std::string& tag, const Digest& d, UnixSeconds checked_at) {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_,
                 "INSERT INTO tags(upstream, repo, tag, digest, checked_at) VALUES(?,?,?,?,?) "
                 "ON CONFLICT(upstream, repo, tag) DO UPDATE SET digest=excluded.digest, "
                 "checked_at=excluded.checked_at");
  return s.bind(1, upstream).bind(2, repo).bind(3, tag).bind(4, d.str()).bind(5, checked_at).run();
}

Result<std::optional<TagRecord>> MetaDb::tag(const std::string& upstream, const std::string& repo,
                                             const std::string& tag) {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest, checked_at FROM tags WHERE upstream=? AND repo=? AND tag=?");
  s.bind(1, upstream).bind(2, repo).bind(3, tag);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<TagRecord>();
  auto d = Digest::parse(s.text(0));
  if (!d) return fail(Errc::io, "meta.db holds a malformed digest for " + repo + ":" + tag);
  return std::optional<TagRecord>(TagRecord{*d, s.integer(1)});
}

Result<std::vector<std::string>> MetaDb::tags(const std::string& upstream,
                                              const std::string& repo) {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "SELECT tag FROM tags WHERE upstream=? AND repo=? ORDER BY tag");
  s.bind(1, upstream).bind(2, repo);
  std::vector<std::string> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back(s.text(0));
  }
}

Result<void> MetaDb::put_blob(const Digest& d, std::uint64_t size) {
  std::lock_guard lock(mu_);
  auto now = unix_now();
  sqlite::Stmt s(db_,
                 "INSERT INTO blobs(digest, size, created_at, last_access) VALUES(?,?,?,?) "
                 "ON CONFLICT(digest) DO UPDATE SET last_access=excluded.last_access");
  return s.bind(1, d.str()).bind(2, std::int64_t(size)).bind(3, now).bind(4, now).run();
}

Result<void> MetaDb::remove_blob(const Digest& d) {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "DELETE FROM blobs WHERE digest=?");
  return s.bind(1, d.str()).run();
}

Result<void> MetaDb::remove_manifest(const Digest& d) {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "DELETE FROM manifests WHERE digest=?");
  return s.bind(1, d.str()).run();
}

Result<std::vector<MetaDb::BlobRow>> MetaDb::blobs() {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest, size FROM blobs ORDER BY digest");
  std::vector<BlobRow> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    if (auto d = Digest::parse(s.text(0))) out.push_back({*d, std::uint64_t(s.integer(1))});
  }
}

Result<std::vector<Digest>> MetaDb::manifest_digests() {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "SELECT digest FROM manifests ORDER BY digest");
  std::vector<Digest> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    if (auto d = Digest::parse(s.text(0))) out.push_back(*d);
  }
}

Result<void> MetaDb::put_git_repo(const GitRepoRow& row) {
  std::lock_guard lock(mu_);
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
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_,
                 "SELECT host, path, last_success, last_error FROM git_repos ORDER BY host, path");
  std::vector<GitRepoRow> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    GitRepoRow r{s.text(0), s.text(1), std::nullopt, s.text(3)};
    if (!s.is_null(2)) r.last_success = s.integer(2);
    out.push_back(std::move(r));
  }
}

Result<bool> MetaDb::integrity_ok() {
  std::lock_guard lock(mu_);
  sqlite::Stmt s(db_, "PRAGMA integrity_check");
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return *row && s.text(0) == "ok";
}

}  // namespace outpost
