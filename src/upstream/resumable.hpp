#pragma once
// The one resumable transfer loop (blobs from registries, bundle files over http(s)). Each attempt
// asks for the bytes from what the sink holds (Range when it holds some). A stalled, refused or
// reset attempt, or a 5xx, is retried within a RetryBudget whether 0 or N bytes have arrived; an
// attempt that moved bytes restarts the budget. A 4xx, an answer the sink rejects, cancellation,
// or a spent budget ends it.
#include <atomic>
#include <functional>
#include <optional>

#include "core/retry.hpp"
#include "http/client.hpp"

namespace outpost::upstream {

class ResumableSink : public http::BodySink {
 public:
  // Bytes kept so far: the next attempt starts here.
  virtual std::uint64_t held() const = 0;
  // Called before each attempt (clears what the last attempt rejected).
  virtual void begin_attempt() = 0;
  // Why the last attempt's answer was unusable (wrong range, oversize…); nothing when it was fine.
  virtual std::optional<Error> rejected() const = 0;
  // After a 2xx attempt that ended without a transport error: is everything here? (false: the
  // body was short; resume.)
  virtual bool complete() const { return true; }
};

struct ResumeStats {
  int attempts = 0;
};

using Attempt = std::function<Result<http::ClientResponse>(std::uint64_t offset)>;
using OnRetry = std::function<void(const Error& why, std::uint64_t offset, Millis pause)>;

// `max_attempts` 0: only the budget bounds the retries.
Result<ResumeStats> fetch_resumable(const Attempt& attempt, ResumableSink& sink, RetryBudget& retry,
                                    const std::atomic<bool>& cancel, const OnRetry& on_retry = {},
                                    int max_attempts = 0);

}  // namespace outpost::upstream
