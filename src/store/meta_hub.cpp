#include "store/meta_hub.hpp"

#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "core/time.hpp"

namespace outpost {

namespace {

// Connection errors a retry does not mend (libpq's texts).
bool refused_for_good(const std::string& msg) {
  for (const char* s : {"authentication failed", "does not exist", "no password supplied",
                        "no pg_hba.conf entry", "newer than this Outpost"})
    if (msg.find(s) != std::string::npos) return true;
  return false;
}

}  // namespace

MetaHub::MetaHub(const PostgresConfig& cfg, MetaDb& db, Metrics& metrics, Millis every)
    : pool_(cfg, metrics), meta_(pool_), db_(db) {
  if (auto m = meta_.migrate(); m) {
    migrated_ = true;
  } else if (refused_for_good(m.error().message)) {
    throw ConfigError("metadata.postgres: " + m.error().message);
  } else {
    spdlog::warn("metadata database unreachable at start ({}): serving from the local read copy",
                 m.error().message);
  }
  db_.share_with(meta_, cfg.retry_after);
  if (migrated_) step();
  spdlog::info("metadata: shared through postgres {} (the local read copy is meta.db)",
               pool_.where());
  thread_ = std::jthread([this, every](std::stop_token st) {
    while (sleep_unless_stopped(st, every)) step();
  });
}

MetaHub::~MetaHub() = default;

bool MetaHub::step() {
  if (!migrated_) {
    auto m = meta_.migrate();
    if (!m) return false;
    migrated_ = true;
  }
  auto s = db_.sync_releases();
  if (!s) return false;
  if (s->pulled || s->pushed || s->dropped)
    spdlog::info(
        "metadata: releases in step with the database ({} copied here, {} sent, {} "
        "dropped as retention dropped them there)",
        s->pulled, s->pushed, s->dropped);
  return true;
}

}  // namespace outpost
