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

namespace outpost {

UpstreamHealth upstream_health(std::string kind, std::string name,
                               std::vector<SourceHealth> sources) {
  UpstreamHealth h;
  h.kind = std::move(kind);
  h.name = std::move(name);
  if (sources.empty()) return h;
  h.url = sources.back().url;
  const SourceHealth* shown = &sources.back();  // every source down: the origin's story
  for (const auto& s : sources) {
    h.contacted = h.contacted || s.contacted;
    if (s.state.up && shown == &sources.back() && !sources.back().state.up) shown = &s;
  }
  h.state = shown->state;
  h.sources = std::move(sources);
  return h;
}

}  // namespace outpost
