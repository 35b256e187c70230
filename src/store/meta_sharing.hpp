#pragma once
// How MetaDb talks to the shared database: every call through here is skipped for retry_after
// after the database could not be reached (the local read copy answers meanwhile, instead of every
// request waiting for a connection timeout); a statement it refused fails alone. Writes that could
// not be shared are counted for the status.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "store/shared_meta.hpp"

namespace outpost {

struct SharingState {
  std::string where;
  bool up = true;
  bool reached = false;               // the database answered once since start
  std::uint64_t unshared_writes = 0;  // since start: served here, not written to the database
  std::optional<UnixSeconds> down_since;
  std::string last_error;
};

class MetaSharing {
 public:
  MetaSharing(SharedMeta& shared, Millis retry_after)
      : shared_(shared), retry_after_(retry_after) {}

  // f(shared) unless the database failed within retry_after; nothing when skipped or failed.
  template <class F>
  auto read(F&& f) -> std::optional<typename decltype(f(std::declval<SharedMeta&>()))::value_type> {
    if (!usable()) return std::nullopt;
    auto r = f(shared_);
    if (!r) {
      failed(r.error());
      return std::nullopt;
    }
    succeeded();
    return std::move(*r);
  }
  // f(shared) for a write; false (and counted) when skipped or failed.
  template <class F>
  bool write(F&& f) {
    if (usable()) {
      if (auto r = f(shared_); r) {
        succeeded();
        return true;
      } else {
        failed(r.error());
      }
    }
    MutexLock lock(mu_);
    ++state_.unshared_writes;
    return false;
  }
  SharingState state() const;

 private:
  bool usable();
  void failed(const Error& e);
  void succeeded();

  SharedMeta& shared_;
  const Millis retry_after_;
  mutable Mutex mu_;
  SharingState state_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point failed_at_ GUARDED_BY(mu_);
};

}  // namespace outpost
