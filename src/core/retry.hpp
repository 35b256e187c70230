#pragma once
// How a transfer that someone is waiting for (a client's blob, a chart, a bundle) retries a
// connection that stalled, was refused or was reset. The rule is the same whether 0 or N bytes
// have arrived: pauses double from 200 ms up to the stall timeout, and no attempt starts once
// the budget — 4 stall timeouts, at least 10 s, counted from the first attempt — is spent. Only
// an upstream known to be down *before* a transfer starts fails it fast (the caller's breaker
// check); once started, a transfer rides out a short outage. Not thread-safe: one per transfer.
#include <atomic>
#include <chrono>
#include <optional>

#include "core/duration.hpp"

namespace outpost {

class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RetryBudget(Millis stall_timeout, Clock::time_point start = Clock::now());

  // The pause before the next attempt, or nullopt when that attempt would begin after the budget.
  std::optional<Millis> next_pause(Clock::time_point now = Clock::now());
  Millis budget() const { return budget_; }
  int retries() const { return retries_; }

 private:
  Millis cap_;
  Millis budget_;
  Clock::time_point start_;
  Millis pause_{200};
  int retries_ = 0;
};

// Sleeps for `d`, returning early (false) once `cancel` turns true (polled every 50 ms).
bool sleep_unless_cancelled(Millis d, const std::atomic<bool>& cancel);

}  // namespace outpost
