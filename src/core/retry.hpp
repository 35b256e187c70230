#pragma once
// How a transfer that someone is waiting for (a client's blob, a chart, a bundle) retries a
// connection that stalled, was refused or was reset. The rule is the same whether 0 or N bytes
// have arrived: pauses double from 200 ms up to the stall timeout, and no attempt starts once
// the budget — 4 stall timeouts, at least 10 s, of time without progress — is spent (an attempt
// that moved bytes starts the count again, so a long transfer over a flapping link goes on while
// each outage stays short). Only an upstream known to be down *before* a transfer starts fails it
// fast (the caller's breaker check); once started, a transfer rides out a short outage. Not
// thread-safe: one per transfer.
#include <atomic>
#include <optional>

#include "core/duration.hpp"
#include "core/time.hpp"

namespace outpost {

class RetryBudget {
 public:
  explicit RetryBudget(Millis stall_timeout, const Clock& clock = Clock::system());

  // The pause before the next attempt, or nullopt when that attempt would begin after the budget.
  std::optional<Millis> next_pause();
  // The last attempt moved bytes: the budget counts from now, pauses start at 200 ms again.
  void progressed();
  // Waits `pause` on the budget's clock; false when `cancel` turned true.
  bool wait(Millis pause, const std::atomic<bool>& cancel) const {
    return clock_.sleep_for(pause, cancel);
  }
  Millis budget() const { return budget_; }

 private:
  const Clock& clock_;
  Millis cap_;
  Millis budget_;
  std::chrono::steady_clock::time_point start_;
  Millis pause_{200};
};

}  // namespace outpost
