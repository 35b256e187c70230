#include "core/circuit_breaker.hpp"

#include <algorithm>

namespace outpost {

bool CircuitBreaker::is_open() const {
  MutexLock lock(mu_);
  return open_;
}

void CircuitBreaker::record_success() {
  MutexLock lock(mu_);
  if (open_) since_ = clock_.system_now();
  open_ = false;
  failures_ = 0;
  backoff_ = min_backoff_;
}

void CircuitBreaker::record_failure(const std::string& why) {
  MutexLock lock(mu_);
  if (!open_) {
    since_ = clock_.system_now();
    backoff_ = min_backoff_;
  } else {
    backoff_ = std::min(max_backoff_, backoff_ * 2);
  }
  open_ = true;
  ++failures_;
  last_error_ = why;
  next_probe_ = clock_.steady_now() + backoff_;
}

bool CircuitBreaker::probe_due() const {
  MutexLock lock(mu_);
  return open_ && clock_.steady_now() >= next_probe_;
}

CircuitBreaker::State CircuitBreaker::state() const {
  MutexLock lock(mu_);
  return {!open_, since_, last_error_, failures_};
}

}  // namespace outpost
