#include "core/circuit_breaker.hpp"

#include <algorithm>

namespace outpost {

bool CircuitBreaker::is_open() const {
  std::lock_guard lock(mu_);
  return open_;
}

void CircuitBreaker::record_success() {
  std::lock_guard lock(mu_);
  if (open_) since_ = std::chrono::system_clock::now();
  open_ = false;
  failures_ = 0;
  backoff_ = min_backoff_;
}

void CircuitBreaker::record_failure(const std::string& why, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!open_) {
    since_ = std::chrono::system_clock::now();
    backoff_ = min_backoff_;
  } else {
    backoff_ = std::min(max_backoff_, backoff_ * 2);
  }
  open_ = true;
  ++failures_;
  last_error_ = why;
  next_probe_ = now + backoff_;
}

bool CircuitBreaker::probe_due(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  return open_ && now >= next_probe_;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return {!open_, since_, last_error_, failures_};
}

}  // namespace outpost
