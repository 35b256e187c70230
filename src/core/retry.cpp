#include "core/retry.hpp"

#include <algorithm>

namespace outpost {

RetryBudget::RetryBudget(Millis stall_timeout, const Clock& clock)
    : clock_(clock),
      cap_(std::max<Millis>(stall_timeout, Millis(200))),
      budget_(std::max<Millis>(4 * stall_timeout, std::chrono::seconds(10))),
      start_(clock.steady_now()) {}

std::optional<Millis> RetryBudget::next_pause() {
  Millis pause = pause_;
  if (clock_.steady_now() + pause >= start_ + budget_) return std::nullopt;
  pause_ = std::min(cap_, pause_ * 2);
  return pause;
}

void RetryBudget::progressed() {
  start_ = clock_.steady_now();
  pause_ = Millis(200);
}

}  // namespace outpost
