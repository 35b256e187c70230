#pragma once
// A hub replica's shared metadata (metadata.postgres), started beside its MetaDb: the pool, the
// schema migrated at start, MetaDb sharing through it, and a thread that keeps the releases in
// step (every `every`) and migrates once the database is reachable, if it was not at start.
#include <atomic>
#include <thread>

#include "core/metrics.hpp"
#include "pg/config.hpp"
#include "pg/pool.hpp"
#include "store/meta_db.hpp"
#include "store/pg_meta.hpp"

namespace outpost {

class MetaHub {
 public:
  // Throws ConfigError when the database refuses the login, names a database or role that does
  // not exist, or holds a newer schema: nothing a retry mends. An unreachable database is not an
  // error (the local read copy serves; this keeps trying).
  MetaHub(const PostgresConfig& cfg, MetaDb& db, Metrics& metrics,
          Millis every = std::chrono::seconds(30));
  ~MetaHub();
  MetaHub(const MetaHub&) = delete;
  MetaHub& operator=(const MetaHub&) = delete;

  PgMeta& meta() { return meta_; }

 private:
  // Migrates (when not yet) and syncs the releases; false when the database did not answer.
  bool step();

  pg::Pool pool_;
  PgMeta meta_;
  MetaDb& db_;
  std::atomic<bool> migrated_{false};
  std::jthread thread_;
};

}  // namespace outpost
