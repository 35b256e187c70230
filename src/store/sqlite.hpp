#pragma once
// Thin RAII wrappers over the SQLite C API: a connection, a prepared statement, a transaction
// that rolls back unless committed. SQLite errors become Errc::io (Errc::no_space for SQLITE_FULL).
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outpost::sqlite {

class Db {
 public:
  // Opens (creating) the database in WAL mode with a busy timeout. Throws std::runtime_error
  // (start-up only).
  explicit Db(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  Result<void> exec(const std::string& sql);
  std::unexpected<Error> error(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt(Db& db, std::string_view sql);  // throws on a malformed statement (a programming error)
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Clears bindings and rewinds, for running the statement again.
  Stmt& reset();
  Stmt& bind(int idx, std::string_view v);
  Stmt& bind(int idx, std::int64_t v);
  // Steps once: true when a row is available, false when done.
  Result<bool> step();
  Result<void> run();  // steps to completion, expecting no rows
  // Binds `args` to ?1, ?2, … and runs (after a reset: the statement can be run again).
  template <class... Args>
  Result<void> run_with(const Args&... args) {
    reset();
    int i = 0;
    (bind(++i, args), ...);
    return run();
  }
  // Steps through every row, calling `row()` for each (it reads the columns).
  template <class F>
  Result<void> each_row(F&& row) {
    for (;;) {
      auto more = step();
      if (!more) return std::unexpected(more.error());
      if (!*more) return {};
      row();
    }
  }
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  bool is_null(int col) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Transaction {
 public:
  explicit Transaction(Db& db);  // BEGIN IMMEDIATE
  ~Transaction();                // ROLLBACK unless committed
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Result<void> commit();
  bool ok() const { return began_; }

 private:
  Db& db_;
  bool began_ = false;
  bool done_ = false;
};

}  // namespace outpost::sqlite
