#pragma once
// One configured upstream registry, reached through an ordered list of sources (upstream/): the
// origin today; regional mirrors and peer replicas go ahead of it. Each source has its own
// breaker, token cache and credentials. Adds what only a registry needs: the bearer-token dance
// (tokens cached per source and scope, credentials only to the source's own origin and realm)
// and the registry paths. The upstream is down when every source's breaker is open; request
// paths then never dial it. Thread-safe.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "upstream/source.hpp"

namespace outpost::registry {

class Upstream {
 public:
  Upstream(const RegistryUpstreamConfig& cfg, const RegistryConfig& reg, http::HttpClient& client,
           Metrics& metrics, const std::atomic<bool>& stopping,
           const Clock& clock = Clock::system());
  ~Upstream();

  const std::string& name() const { return cfg_.name; }
  // Every source's breaker is open: nothing would be dialled.
  bool down() const;
  // Why it is down (the last error of the last source), for messages people read.
  std::string down_reason() const;
  // False until a request has been sent to any source ("not used yet" on the status page).
  bool contacted() const;
  // The origin's breaker state (the status page's line for this upstream).
  CircuitBreaker::State state() const;

  // A metadata call (manifest, tags, HEAD), bounded by registry.upstream_timeout. `path` starts
  // with /v2/. Goes to the first source whose breaker is closed, the next one on a transport
  // failure or 5xx (which open that source's breaker).
  Result<http::ClientResponse> call(const std::string& method, const std::string& path,
                                    const std::string& repo,
                                    std::vector<std::pair<std::string, std::string>> headers = {});
  // Streams a blob from `offset` into `sink` (2xx only) from the first healthy source; no overall
  // time bound, a stall bound. The caller retries (upstream/resumable).
  Result<http::ClientResponse> fetch_blob(const std::string& repo, const std::string& digest,
                                          std::uint64_t offset, http::BodySink& sink);
  // A registry write (blob upload, manifest PUT) under a pull,push token, to the origin only.
  // `req.url` is a path starting with /v2/ or an absolute URL on the origin (an upload Location);
  // no overall time bound, a stall bound.
  Result<http::ClientResponse> push_call(http::ClientRequest req, const std::string& repo);
  // GET /v2/ on every source whose probe is due; closes its breaker when it answers. Used by the
  // background prober.
  void probe_due();

 private:
  struct Link;   // a source with its token cache
  Link* pick();  // first source with a closed breaker, else the origin
  Result<http::ClientResponse> send(Link& link, http::ClientRequest req, const std::string& scope,
                                    http::BodySink* sink);
  std::optional<std::string> auth_header(Link& link, const std::string& scope);
  Result<void> authenticate(Link& link, const std::string& challenge_header,
                            const std::string& scope);
  // Records the outcome in the source's breaker and metrics; true when it was a failure.
  bool note(Link& link, const Result<http::ClientResponse>& r);

  const RegistryUpstreamConfig& cfg_;
  const RegistryConfig& reg_;
  http::HttpClient& client_;
  const std::atomic<bool>& stopping_;
  const Clock& clock_;
  MetricFamily& errors_;
  std::vector<std::unique_ptr<Link>> links_;  // tried in order; the origin last
};

}  // namespace outpost::registry
