#pragma once
// Per-upstream health. One transport failure opens the breaker: while open, request paths never
// dial the upstream (they serve what is cached or fail fast); when the backoff has passed, one
// caller claims the probe (`claim_probe`), checks upstream and reports back. The backoff doubles,
// from min to max, on each failed probe only: failures of requests that were not the probe (in
// flight when it opened, or queued behind it) count no further, so the backoff counts outages,
// not requests. Thread-safe.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"

namespace outpost {

class CircuitBreaker {
 public:
  CircuitBreaker(Millis min_backoff, Millis max_backoff, const Clock& clock = Clock::system())
      : clock_(clock),
        min_backoff_(min_backoff),
        max_backoff_(max_backoff),
        backoff_(min_backoff),
        since_(clock.system_now()) {}

  bool is_open() const;
  void record_success();
  void record_failure(const std::string& why);
  // True when open and the backoff since the last attempt has elapsed.
  bool probe_due() const;
  // When a probe is due, takes it: true for exactly one caller, which then reports the outcome
  // (record_success / record_failure); others see no probe due until the backoff passes again.
  bool claim_probe();

  struct State {
    bool up;
    std::chrono::system_clock::time_point since;  // when the current state began
    std::string last_error;
    unsigned failures;  // consecutive
  };
  State state() const;

 private:
  const Clock& clock_;
  const Millis min_backoff_, max_backoff_;
  mutable Mutex mu_;
  bool open_ GUARDED_BY(mu_) = false;
  Millis backoff_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point next_probe_ GUARDED_BY(mu_) = {};
  std::chrono::system_clock::time_point since_ GUARDED_BY(mu_);
  std::string last_error_ GUARDED_BY(mu_);
  unsigned failures_ GUARDED_BY(mu_) = 0;
  bool probing_ GUARDED_BY(mu_) = false;  // a claimed probe has not reported yet
};

}  // namespace outpost
