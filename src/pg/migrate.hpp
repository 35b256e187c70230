#pragma once
// Versioned schema migrations. Step i of `steps` makes schema version i+1; the versions applied
// are rows of outpost_schema. Replicas that start together take a session advisory lock first,
// so each step runs once, in its own transaction (a failed step leaves the version before it).
#include <cstdint>
#include <span>
#include <string_view>

#include "core/error.hpp"
#include "pg/pool.hpp"

namespace outpost::pg {

struct Migrated {
  int from = 0;  // the version found
  int to = 0;    // the version now
};

// Fails when the database holds a version newer than `steps` knows (a newer Outpost migrated
// it): an older replica must not write a schema it does not know.
Result<Migrated> migrate(Pool& pool, std::span<const std::string_view> steps,
                         std::int64_t lock_key);

}  // namespace outpost::pg
