#pragma once
// A command's connection to metadata.postgres (gc --bucket, storage migrate): the pool and the
// shared tables, the schema brought to this version.
#include <memory>
#include <string_view>

#include "core/metrics.hpp"
#include "pg/config.hpp"
#include "pg/pool.hpp"
#include "store/pg_meta.hpp"

namespace outpost::cli {

struct SharedDb {
  SharedDb(const PostgresConfig& cfg, Metrics& metrics) : pool(cfg, metrics), meta(pool) {}
  pg::Pool pool;
  PgMeta meta;
};

// nullptr when the database cannot be used, the error printed as
// "outpost <command>: metadata.postgres: …".
std::unique_ptr<SharedDb> open_shared_db(const PostgresConfig& cfg, Metrics& metrics,
                                         std::string_view command);

}  // namespace outpost::cli
