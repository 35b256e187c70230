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
  probing_ = false;
  failures_ = 0;
  backoff_ = min_backoff_;
}

void CircuitBreaker::record_failure(const std::string& why) {
  MutexLock lock(mu_);
  ++failures_;
  last_error_ = why;
  if (!open_) {
    since_ = clock_.system_now();
    backoff_ = min_backoff_;
  } else if (probing_) {
    backoff_ = std::min(max_backoff_, backoff_ * 2);
  } else {
    return;  // not the probe: the outage is already counted
  }
  open_ = true;
  probing_ = false;
  next_probe_ = clock_.steady_now() + backoff_;
}

bool CircuitBreaker::probe_due() const {
  MutexLock lock(mu_);
  return open_ && clock_.steady_now() >= next_probe_;
}

bool CircuitBreaker::claim_probe() {
  MutexLock lock(mu_);
  const auto now = clock_.steady_now();
  if (!open_ || now < next_probe_) return false;
  probing_ = true;
  next_probe_ = now + backoff_;  // a probe that never reports is retried after the backoff
  return true;
}

CircuitBreaker::State CircuitBreaker::state() const {
  MutexLock lock(mu_);
  return {!open_, since_, last_error_, failures_};
}

}  // namespace outpost
