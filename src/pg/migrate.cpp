#include "pg/migrate.hpp"

#include <spdlog/spdlog.h>

namespace outpost::pg {

namespace {

Result<int> current_version(Session& s) {
  auto made = s.query(
      "CREATE TABLE IF NOT EXISTS outpost_schema(version integer PRIMARY KEY, "
      "applied_at timestamptz NOT NULL DEFAULT now())");
  if (!made) return std::unexpected(made.error());
  auto v = s.query("SELECT COALESCE(MAX(version), 0) FROM outpost_schema");
  if (!v) return std::unexpected(v.error());
  return static_cast<int>(v->integer(0, 0));
}

Result<Migrated> migrate_locked(Session& s, std::span<const std::string_view> steps) {
  auto version = current_version(s);
  if (!version) return std::unexpected(version.error());
  Migrated m{*version, *version};
  if (*version > static_cast<int>(steps.size()))
    return fail(Errc::io, "database schema version " + std::to_string(*version) +
                              " is newer than this Outpost's (" + std::to_string(steps.size()) +
                              "): run the newer version");
  for (int v = *version + 1; v <= static_cast<int>(steps.size()); ++v) {
    auto applied = s.transaction([&](Session& tx) -> Result<void> {
      if (auto r = tx.run(steps[static_cast<std::size_t>(v - 1)]); !r)
        return std::unexpected(r.error());
      if (auto r = tx.query("INSERT INTO outpost_schema(version) VALUES($1)", v); !r)
        return std::unexpected(r.error());
      return {};
    });
    if (!applied)
      return fail(applied.error().code, "schema migration to version " + std::to_string(v) + ": " +
                                            applied.error().message);
    m.to = v;
    spdlog::info("postgres: schema migrated to version {}", v);
  }
  return m;
}

}  // namespace

Result<Migrated> migrate(Pool& pool, std::span<const std::string_view> steps,
                         std::int64_t lock_key) {
  auto s = pool.session();
  if (!s) return std::unexpected(s.error());
  if (auto l = s->query("SELECT pg_advisory_lock($1)", lock_key); !l)
    return std::unexpected(l.error());
  auto m = migrate_locked(*s, steps);
  (void)s->query("SELECT pg_advisory_unlock($1)", lock_key);
  return m;
}

}  // namespace outpost::pg
