#pragma once
// The metadata section (metadata.postgres): hub replicas share their metadata through one
// PostgreSQL database, each keeping its SQLite file as the local read copy. Off (SQLite alone)
// unless url is set. See docs/hub.md.
#include <string>

#include "core/config_section.hpp"
#include "core/duration.hpp"

namespace outpost {

struct PostgresConfig {
  std::string url;       // postgresql://user@host:port/db (libpq's URI; options as its query)
  std::string password;  // from password_env or password_file; never logged
  int pool_size = 4;     // connections per replica
  Millis connect_timeout = std::chrono::seconds(5);
  Millis statement_timeout = std::chrono::seconds(10);
  // After a failed call the database is not asked again for this long (requests use the local
  // read copy meanwhile, instead of each waiting for a connection timeout).
  Millis retry_after = std::chrono::seconds(5);

  bool enabled() const { return !url.empty(); }
};

struct MetadataConfig {
  PostgresConfig postgres;
};

namespace config {
// The `metadata` section's key table (the one place its keys are listed).
const KeyTable<MetadataConfig>& metadata_keys();
}  // namespace config

}  // namespace outpost
