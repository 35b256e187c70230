#pragma once
// A pool of libpq connections to one PostgreSQL database, and the statements run on them. Every
// statement is sent with text parameters ($1, $2, …), so no value is ever spliced into SQL. A
// connection that breaks is dropped and a new one made on the next call; errors come back as
// Errc::upstream_unavailable (no connection) or Errc::io (the statement failed).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "pg/config.hpp"

struct pg_conn;
struct pg_result;

namespace outpost::pg {

// The rows a statement returned (owns the PGresult).
class Rows {
 public:
  explicit Rows(pg_result* r) : r_(r) {}
  Rows(Rows&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Rows& operator=(Rows&&) = delete;
  ~Rows();
  int size() const;
  bool null(int row, int col) const;
  std::string text(int row, int col) const;
  std::int64_t integer(int row, int col) const;
  std::uint64_t affected() const;  // rows an INSERT/UPDATE/DELETE touched

 private:
  pg_result* r_;
};

// One statement parameter: text, or SQL NULL.
using Param = std::optional<std::string>;
inline Param param(std::string_view v) {
  return std::string(v);
}
inline Param param(const std::string& v) {
  return v;
}
inline Param param(const char* v) {
  return std::string(v);
}
inline Param param(std::int64_t v) {
  return std::to_string(v);
}
inline Param param(std::uint64_t v) {
  return std::to_string(v);
}
inline Param param(int v) {
  return std::to_string(v);
}
template <class T>
Param param(const std::optional<T>& v) {
  return v ? param(*v) : Param();
}

class Pool;

// A connection taken from the pool for a few statements (one transaction, or a session-level
// advisory lock); returned when destroyed.
class Session {
 public:
  Session(Pool& pool, pg_conn* c) : pool_(pool), c_(c) {}
  Session(Session&& o) noexcept : pool_(o.pool_), c_(std::exchange(o.c_, nullptr)) {}
  Session& operator=(Session&&) = delete;
  ~Session();

  Result<Rows> run(std::string_view sql, const std::vector<Param>& params = {});
  template <class... A>
  Result<Rows> query(std::string_view sql, const A&... args) {
    return run(sql, std::vector<Param>{param(args)...});
  }
  // BEGIN; f; COMMIT (ROLLBACK when f fails).
  Result<void> transaction(const std::function<Result<void>(Session&)>& f);

 private:
  Pool& pool_;
  pg_conn* c_;
};

class Pool {
 public:
  // Connects lazily: nothing is dialled until the first statement.
  Pool(PostgresConfig cfg, Metrics& metrics);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection: an idle one, a new one while fewer than pool_size exist, else the first one
  // returned within connect_timeout.
  Result<Session> session();
  template <class... A>
  Result<Rows> query(std::string_view sql, const A&... args) {
    auto s = session();
    if (!s) return std::unexpected(s.error());
    return s->query(sql, args...);
  }
  // Where it connects, without credentials ("db.example:5432/outpost"), for logs and status.
  std::string where() const;

 private:
  friend class Session;
  Result<pg_conn*> connect();
  void give_back(pg_conn* c, bool broken);
  void record(std::string_view outcome, double seconds);

  const PostgresConfig cfg_;
  MetricFamily& queries_;
  MetricFamily& seconds_;
  MetricFamily& waits_;
  mutable Mutex mu_;
  std::condition_variable_any returned_;
  std::vector<pg_conn*> idle_ GUARDED_BY(mu_);
  int open_ GUARDED_BY(mu_) = 0;
  int in_use_ GUARDED_BY(mu_) = 0;
  bool up_ GUARDED_BY(mu_) = true;
  std::string where_;
};

}  // namespace outpost::pg
