#include "cli/shared_db.hpp"

#include <iostream>

namespace outpost::cli {

std::unique_ptr<SharedDb> open_shared_db(const PostgresConfig& cfg, Metrics& metrics,
                                         std::string_view command) {
  auto db = std::make_unique<SharedDb>(cfg, metrics);
  if (auto m = db->meta.migrate(); !m) {
    std::cerr << "outpost " << command << ": metadata.postgres: " << m.error().message << "\n";
    return nullptr;
  }
  return db;
}

}  // namespace outpost::cli
