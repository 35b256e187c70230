#pragma once
// Time in one place: the Clock seam (steady time for TTLs, backoff and staleness; wall time for
// what is stored and shown), Unix seconds, ISO-8601 text, and an interruptible sleep. Components
// that decide on time take a `const Clock&` (default: the system clock) so tests can move a
// FakeClock instead of sleeping.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>

#include "core/duration.hpp"

namespace outpost {

using UnixSeconds = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  virtual std::chrono::system_clock::time_point system_now() const = 0;
  UnixSeconds unix_now() const;
  // Waits `d` (a FakeClock just moves on). Returns false, early, once `cancel` turns true.
  virtual bool sleep_for(Millis d, const std::atomic<bool>& cancel) const = 0;
  // The process's real clock.
  static const Clock& system();
};

// A clock that moves only when told (tests). Thread-safe.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steady_now() const override;
  std::chrono::system_clock::time_point system_now() const override;
  bool sleep_for(Millis d, const std::atomic<bool>& cancel) const override;
  void advance(Millis d) const { offset_ += d.count(); }

 private:
  mutable std::atomic<std::int64_t> offset_{0};  // ms since construction
  const std::chrono::steady_clock::time_point steady0_{};
  const std::chrono::system_clock::time_point system0_{std::chrono::seconds(1'700'000'000)};
};

// Seconds since the Unix epoch, by the system clock.
UnixSeconds unix_now();
// "2026-11-29T11:33:56Z" (UTC, whole seconds); empty for nullopt.
std::string iso8601(std::chrono::system_clock::time_point t);
std::string iso8601(std::optional<std::chrono::system_clock::time_point> t);
std::string iso8601_now();
// Sleeps for `d` unless `st` is stop-requested first. Returns false when stopped.
bool sleep_unless_stopped(std::stop_token st, Millis d);

}  // namespace outpost
