#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace outpost::sqlite {

Db::Db(const std::string& path) {
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(fmt::format("cannot open {}: {}", path, msg));
  }
  sqlite3_busy_timeout(db_, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    if (!exec(pragma)) throw std::runtime_error(fmt::format("{}: {}", path, sqlite3_errmsg(db_)));
  }
}

Db::~Db() {
  sqlite3_close(db_);
}

Result<void> Db::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return fail(Errc::io, "sqlite: " + msg);
  }
  return {};
}

std::unexpected<Error> Db::error(std::string_view what) const {
  int code = sqlite3_errcode(db_);
  Errc e = (code == SQLITE_FULL) ? Errc::no_space : Errc::io;
  return fail(e, fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db_)));
}

Stmt::Stmt(Db& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK)
    throw std::logic_error(fmt::format("bad SQL '{}': {}", sql, sqlite3_errmsg(db.handle())));
}

Stmt::~Stmt() {
  sqlite3_finalize(stmt_);
}

Stmt& Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return *this;
}

Stmt& Stmt::bind(int idx, std::string_view v) {
  sqlite3_bind_text(stmt_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind(int idx, std::int64_t v) {
  sqlite3_bind_int64(stmt_, idx, v);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_.error("step");
}

Result<void> Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::unexpected(r.error());
    if (!*r) return {};
  }
}

std::string Stmt::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

std::int64_t Stmt::integer(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Transaction::Transaction(Db& db) : db_(db) {
  began_ = db_.exec("BEGIN IMMEDIATE").has_value();
}

Transaction::~Transaction() {
  if (began_ && !done_) (void)db_.exec("ROLLBACK");
}

Result<void> Transaction::commit() {
  if (!began_) return db_.error("begin");
  auto r = db_.exec("COMMIT");
  if (r) done_ = true;
  return r;
}

}  // namespace outpost::sqlite
