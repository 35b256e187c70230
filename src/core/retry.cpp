#include "core/retry.hpp"

#include <algorithm>
#include <thread>

namespace outpost {

RetryBudget::RetryBudget(Millis stall_timeout, Clock::time_point start)
    : cap_(std::max<Millis>(stall_timeout, Millis(200))),
      budget_(std::max<Millis>(4 * stall_timeout, std::chrono::seconds(10))),
      start_(start) {}

std::optional<Millis> RetryBudget::next_pause(Clock::time_point now) {
  Millis pause = pause_;
  if (now + pause >= start_ + budget_) return std::nullopt;
  pause_ = std::min(cap_, pause_ * 2);
  ++retries_;
  return pause;
}

bool sleep_unless_cancelled(Millis d, const std::atomic<bool>& cancel) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!cancel) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
  }
  return false;
}

}  // namespace outpost
