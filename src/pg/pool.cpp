#include "pg/pool.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "pg/metric_defs.hpp"

namespace outpost::pg {

Rows::~Rows() {
  if (r_) PQclear(r_);
}
int Rows::size() const {
  return PQntuples(r_);
}
bool Rows::null(int row, int col) const {
  return PQgetisnull(r_, row, col) != 0;
}
std::string Rows::text(int row, int col) const {
  return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
}
std::int64_t Rows::integer(int row, int col) const {
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}
std::uint64_t Rows::affected() const {
  return std::strtoull(PQcmdTuples(r_), nullptr, 10);
}

namespace {

// "postgresql://user:pw@host:5432/db?x=y" → "host:5432/db".
std::string strip_url(const std::string& url) {
  auto rest = url.substr(url.find("://") + 3);
  if (auto at = rest.rfind('@', rest.find('/')); at != std::string::npos) rest.erase(0, at + 1);
  if (auto q = rest.find('?'); q != std::string::npos) rest.resize(q);
  return rest;
}

std::string first_line(const char* msg) {
  std::string s = msg ? msg : "";
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

}  // namespace

Pool::Pool(PostgresConfig cfg, Metrics& metrics)
    : cfg_(std::move(cfg)),
      queries_(metrics.counter(metric::queries_total)),
      seconds_(metrics.counter(metric::query_seconds_total)),
      waits_(metrics.counter(metric::pool_waits_total)),
      where_(strip_url(cfg_.url)) {
  auto& conns = metrics.gauge(metric::pool_connections);
  auto& up = metrics.gauge(metric::up);
  metrics.add_collector([this, &conns, &up] {
    MutexLock lock(mu_);
    conns.set({{"state", "in_use"}}, in_use_);
    conns.set({{"state", "idle"}}, static_cast<double>(idle_.size()));
    up.set({}, up_ ? 1 : 0);
  });
}

Pool::~Pool() {
  MutexLock lock(mu_);
  for (auto* c : idle_) PQfinish(c);
}

std::string Pool::where() const {
  return where_;
}

Result<pg_conn*> Pool::connect() {
  const auto timeout = std::to_string(std::max<long long>(
      1, std::chrono::duration_cast<std::chrono::seconds>(cfg_.connect_timeout).count()));
  const auto options = "-c statement_timeout=" + std::to_string(cfg_.statement_timeout.count());
  const auto user_timeout =
      std::to_string(cfg_.statement_timeout.count() + cfg_.connect_timeout.count());
  std::vector<const char*> keys{"dbname",  "connect_timeout", "application_name",
                                "options", "keepalives_idle", "tcp_user_timeout"};
  std::vector<const char*> values{
      cfg_.url.c_str(), timeout.c_str(), "outpost", options.c_str(), "5", user_timeout.c_str()};
  if (!cfg_.password.empty()) {
    keys.push_back("password");
    values.push_back(cfg_.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* c = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!c) return fail(Errc::upstream_unavailable, "postgres " + where_ + ": out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    auto msg = first_line(PQerrorMessage(c));
    PQfinish(c);
    return fail(Errc::upstream_unavailable, "postgres " + where_ + ": " + msg);
  }
  // NOTICEs ("relation … already exists, skipping") go to the debug log, not to stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char* msg) { spdlog::debug("postgres: {}", first_line(msg)); }, nullptr);
  return c;
}

Result<Session> Pool::session() {
  MutexLock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + cfg_.connect_timeout;
  bool waited = false;
  while (idle_.empty() && open_ >= cfg_.pool_size) {
    if (!waited) waits_.add({});
    waited = true;
    if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= cfg_.pool_size)
      return fail(
          Errc::upstream_unavailable,
          "postgres " + where_ + ": all " + std::to_string(cfg_.pool_size) + " connections busy");
  }
  if (!idle_.empty()) {
    auto* c = idle_.back();
    idle_.pop_back();
    ++in_use_;
    return Session(*this, c);
  }
  ++open_;
  ++in_use_;
  lock.unlock();
  auto c = connect();
  lock.lock();
  if (!c) {
    --open_;
    --in_use_;
    up_ = false;
    returned_.notify_one();
    queries_.add({{"outcome", "unavailable"}});
    return std::unexpected(c.error());
  }
  return Session(*this, *c);
}

void Pool::give_back(pg_conn* c, bool broken) {
  MutexLock lock(mu_);
  --in_use_;
  if (broken) {
    --open_;
    PQfinish(c);
  } else {
    idle_.push_back(c);
  }
  returned_.notify_one();
}

void Pool::record(std::string_view outcome, double seconds) {
  queries_.add({{"outcome", std::string(outcome)}});
  seconds_.add({}, seconds);
  MutexLock lock(mu_);
  up_ = outcome != "unavailable";
}

Session::~Session() {
  if (c_)
    pool_.give_back(c_, PQstatus(c_) != CONNECTION_OK || PQtransactionStatus(c_) != PQTRANS_IDLE);
}

Result<Rows> Session::run(std::string_view sql, const std::vector<Param>& params) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  // Without parameters the simple protocol, which takes several statements (a migration step).
  PGresult* r = params.empty() ? PQexec(c_, text.c_str())
                               : PQexecParams(c_, text.c_str(), static_cast<int>(values.size()),
                                              nullptr, values.data(), nullptr, nullptr, 0);
  Rows rows(r);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    pool_.record("ok", secs);
    return rows;
  }
  const bool lost = PQstatus(c_) != CONNECTION_OK;
  auto msg = first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
  if (msg.empty()) msg = first_line(PQerrorMessage(c_));
  pool_.record(lost ? "unavailable" : "error", secs);
  return fail(lost ? Errc::upstream_unavailable : Errc::io,
              "postgres " + pool_.where() + ": " + msg);
}

Result<void> Session::transaction(const std::function<Result<void>(Session&)>& f) {
  if (auto b = run("BEGIN"); !b) return std::unexpected(b.error());
  auto r = f(*this);
  if (!r) {
    (void)run("ROLLBACK");
    return r;
  }
  if (auto c = run("COMMIT"); !c) return std::unexpected(c.error());
  return {};
}

}  // namespace outpost::pg
