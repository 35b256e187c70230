#include "store/meta_sharing.hpp"

#include <spdlog/spdlog.h>

namespace outpost {

SharingState MetaSharing::state() const {
  MutexLock lock(mu_);
  auto s = state_;
  s.where = shared_.where();
  return s;
}

bool MetaSharing::usable() {
  MutexLock lock(mu_);
  return state_.up || std::chrono::steady_clock::now() - failed_at_ >= retry_after_;
}

void MetaSharing::failed(const Error& e) {
  MutexLock lock(mu_);
  state_.last_error = e.message;
  // A statement the database refused (Errc::io) fails alone: the database answered, so it is
  // not down and the next call goes to it. Only an unreachable one is skipped for retry_after.
  if (e.code != Errc::upstream_unavailable && e.code != Errc::timeout) {
    spdlog::warn("metadata database: {}", e.message);
    return;
  }
  failed_at_ = std::chrono::steady_clock::now();
  if (!state_.up) return;
  state_.up = false;
  state_.down_since = unix_now();
  spdlog::warn(
      "metadata database down ({}): serving from the local read copy; new resolutions are "
      "served but not shared",
      e.message);
}

void MetaSharing::succeeded() {
  MutexLock lock(mu_);
  state_.reached = true;
  if (state_.up) return;
  state_.up = true;
  state_.down_since.reset();
  spdlog::info("metadata database {} is back", shared_.where());
}

}  // namespace outpost
