#pragma once
// How upstreams and their sources are doing, for the status page, metrics and readiness: the
// vocabulary of upstream/ (a Source reports its SourceHealth; each protocol sums its sources into
// an UpstreamHealth).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/circuit_breaker.hpp"

namespace outpost::upstream {

// A registry's pull quota as its last answer stated it (Docker Hub: `ratelimit-limit: 100;w=21600`,
// `ratelimit-remaining: 76;w=21600`, `docker-ratelimit-source`).
struct RateLimit {
  std::uint64_t limit = 0, remaining = 0, window_seconds = 0;
  std::string source;  // what the registry counts against (an IP or an account)
  std::chrono::system_clock::time_point seen;
};

// How one source of an upstream (a mirror, or the origin) is doing.
struct SourceHealth {
  std::string url;
  std::string role;        // mirror | origin
  bool contacted = false;  // false: never needed yet
  CircuitBreaker::State state{};
  std::uint64_t bytes = 0;                // content bytes received from it
  std::optional<RateLimit> rate_limit{};  // when its answers state one
};

// How an upstream is doing, for the status page, metrics and readiness. `state` and `contacted`
// are the upstream's as a whole: up while any source is up.
struct UpstreamHealth {
  std::string kind;        // registry | git | helm
  std::string name;        // registry upstream name or host
  std::string url;         // the origin
  bool contacted = false;  // false: never needed yet
  CircuitBreaker::State state{};
  std::vector<SourceHealth> sources;  // in the order they are tried: mirrors, then the origin
};

// The health of an upstream from its sources, in order (the last is the origin): up while any
// source is up; since, last_error and failures are the origin's when it is up or every source is
// down, else the first up source's.
UpstreamHealth upstream_health(std::string kind, std::string name,
                               std::vector<SourceHealth> sources);

}  // namespace outpost::upstream
