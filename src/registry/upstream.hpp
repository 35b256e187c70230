#pragma once
// One configured upstream registry: URL building, the token/basic auth dance, redirects that
// never carry credentials to another origin, and the circuit breaker that keeps request paths
// from waiting on an upstream known to be down. Thread-safe.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "core/circuit_breaker.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "http/client.hpp"

namespace outpost::registry {

class Upstream {
 public:
  Upstream(const RegistryUpstreamConfig& cfg, const RegistryConfig& reg, http::HttpClient& client,
           Metrics& metrics, const std::atomic<bool>& stopping,
           const Clock& clock = Clock::system());

  const std::string& name() const { return cfg_.name; }
  CircuitBreaker& breaker() { return breaker_; }
  // False until a request has been sent upstream ("not used yet" on the status page).
  bool contacted() const { return contacted_; }

  // A metadata call (manifest, tags, HEAD), bounded by registry.upstream_timeout. `path` starts
  // with /v2/. Transport failures and 5xx open the breaker. REQUIRES: breaker closed (callers
  // check).
  Result<http::ClientResponse> call(const std::string& method, const std::string& path,
                                    const std::string& repo,
                                    std::vector<std::pair<std::string, std::string>> headers = {});
  // Streams a blob from `offset` into `sink` (2xx only); no overall time bound, a stall bound.
  Result<http::ClientResponse> fetch_blob(const std::string& repo, const std::string& digest,
                                          std::uint64_t offset, http::BodySink& sink);
  // A registry write (blob upload, manifest PUT) under a pull,push token. `req.url` is a path
  // starting with /v2/ or an absolute URL on this upstream's origin (an upload Location); no
  // overall time bound, a stall bound.
  Result<http::ClientResponse> push_call(http::ClientRequest req, const std::string& repo);
  // GET /v2/: records the outcome in the breaker. Used by the background prober.
  bool probe();

 private:
  Result<http::ClientResponse> send(http::ClientRequest req, const std::string& scope,
                                    http::BodySink* sink);
  std::optional<std::string> auth_header(const std::string& scope);
  Result<void> authenticate(const std::string& challenge_header, const std::string& scope);
  void note_result(const Result<http::ClientResponse>& r);
  bool same_origin(const std::string& url) const;

  const RegistryUpstreamConfig& cfg_;
  const RegistryConfig& reg_;
  http::HttpClient& client_;
  const std::atomic<bool>& stopping_;
  CircuitBreaker breaker_;
  MetricFamily& errors_;
  std::atomic<bool> contacted_{false};

  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mu_;
  std::map<std::string, Token> tokens_;  // GUARDED_BY(mu_); key: scope
  bool use_basic_ = false;               // GUARDED_BY(mu_); upstream asked for Basic
};

// scheme://host[:port] of an absolute URL ("" if not absolute).
std::string url_origin(std::string_view url);
// Resolves a Location header against the URL it came from.
std::string resolve_location(const std::string& base, const std::string& location);

}  // namespace outpost::registry
