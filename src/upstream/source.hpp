#pragma once
// One place an upstream's content can come from: the origin, a mirror (a regional Outpost or
// another cache), later a peer replica. A Source owns its base URL, its credentials, its circuit
// breaker and its counters; every request to it goes through send(), the one redirect loop:
// at most 6 hops, credentials only to the source's own origin (never across a redirect to
// another), never from https to plain http unless the source is insecure. What a source sends is
// verified by the caller exactly as for any other source. Thread-safe.
#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "core/circuit_breaker.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "upstream/health.hpp"

namespace outpost::upstream {

// store: an object store holding every blob (tier/object_tier.hpp), asked before the mirrors.
enum class Role { origin, mirror, peer, store };

// Whether a URL may be dialled (every hop of a request); the error says why not.
using UrlPolicy = std::function<Result<void>(std::string_view url)>;

struct SourceSpec {
  std::string url;  // scheme://host[:port][/prefix], no trailing slash
  Role role = Role::origin;
  bool insecure = false;   // plain http allowed (redirects too), TLS not verified
  std::string username{};  // Basic credentials for this source only
  std::string password{};  // never logged
  // When set, every URL send() dials, the first and each redirect's, must pass it: a source
  // confined to a list (bundle.allowed_sources) never leaves it through a redirect.
  UrlPolicy allow_url{};
};

struct BreakerPolicy {
  Millis min_backoff = std::chrono::seconds(1);
  Millis max_backoff = std::chrono::seconds(60);
};

class Source {
 public:
  Source(SourceSpec spec, BreakerPolicy breaker, http::HttpClient& client,
         const std::atomic<bool>& stopping, const Clock& clock = Clock::system());
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  const SourceSpec& spec() const { return spec_; }
  const std::string& url() const { return spec_.url; }
  CircuitBreaker& breaker() { return breaker_; }
  const CircuitBreaker& breaker() const { return breaker_; }
  // False until a request has been sent ("not used yet" on the status page).
  bool contacted() const { return contacted_; }
  bool same_origin(std::string_view url) const;
  // Content bytes received from this source (blob, pack, chart bodies), for status and metrics.
  void add_bytes(std::uint64_t n) { bytes_ += n; }
  SourceHealth health() const;
  // "Basic …" for this source's credentials, when it has some.
  std::optional<std::string> basic_authorization() const;

  // The Authorization value for a request to this source's origin (asked for each hop on it).
  using Authorize = std::function<std::optional<std::string>()>;
  // Sends `req`; its URL is absolute (on this source) or a path appended to the source's URL.
  // The source's insecure flag and the stop flag are applied. Follows redirects as described
  // above. Any HTTP status is a success here; transport failures are errors.
  Result<http::ClientResponse> send(http::ClientRequest req, http::BodySink* sink = nullptr,
                                    const Authorize& authorize = {});
  // Keeps what an answer states about rate limits (health()); no breaker change.
  void observe(const http::ClientResponse& r);
  // The source asked to be left alone this long (a 429, Retry-After): polled work passes it over
  // until then; work a push triggered does not. Not an outage: the breaker is untouched.
  void pause_for(Millis d);
  // Time left of the pause (zero: not paused).
  Millis paused() const;

 private:
  const SourceSpec spec_;
  const std::string origin_;
  http::HttpClient& client_;
  const std::atomic<bool>& stopping_;
  CircuitBreaker breaker_;
  const Clock& clock_;
  std::atomic<std::chrono::steady_clock::rep> paused_until_{0};  // steady ticks
  std::atomic<bool> contacted_{false};
  std::atomic<std::uint64_t> bytes_{0};
  mutable Mutex rate_mu_;
  std::optional<RateLimit> rate_limit_ GUARDED_BY(rate_mu_);
};

std::string_view role_name(Role r);  // "origin" | "mirror" | "peer"

// Whether an outcome counts against a source's health: a transport failure or a 5xx. A
// cancellation, and an answer over its document's bound (Errc::too_large: that request's error),
// do not.
bool is_outage(const Result<http::ClientResponse>& r);

}  // namespace outpost::upstream
