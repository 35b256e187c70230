#pragma once
// How long an upstream asked to be left alone: a 429, or a 503 that says when to come back
// (RFC 9110 §10.2.3 Retry-After, delta-seconds or an HTTP-date).
#include <chrono>
#include <optional>

#include "core/duration.hpp"
#include "http/client.hpp"

namespace outpost::http {

// nullopt when `r` asks for no pause: neither a 429 nor a 503 with Retry-After. Otherwise the
// pause it asks for, bounded to [1 s, 1 h]; a 429 without a usable Retry-After is 60 s.
std::optional<Millis> asked_pause(const ClientResponse& r,
                                  std::chrono::system_clock::time_point now);

}  // namespace outpost::http
