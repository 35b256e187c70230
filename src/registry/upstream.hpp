#pragma once
// One configured upstream registry, reached through an ordered list of sources (upstream/): its
// mirrors (regional Outposts, other caches of the same origin) in configured order, then the
// origin. Each source has its own breaker, token cache and credentials (the origin's never go to a
// mirror). Requests to a mirror carry ?ns=<upstream name>, so an Outpost hub routes them to the
// same upstream. A mirror that fails (transport, 5xx), lacks the content (404) or refuses (401,
// 403, 429) passes the request to the next source: a hub that lacks a blob never makes a false 404.
// A mirror whose content does not verify is distrusted (its breaker opened). Adds what only a
// registry needs: the bearer-token dance (tokens cached per source and scope, credentials only to
// the source's own origin and realm) and the registry paths. The upstream is down when every
// source's breaker is open; request paths then never dial it. Thread-safe.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "registry/config.hpp"
#include "upstream/ask.hpp"
#include "upstream/source_list.hpp"

namespace outpost::cluster {
class Cluster;
enum class Asking;
}  // namespace outpost::cluster

namespace outpost::tier {
class ObjectTier;
}

namespace outpost::registry {

class Upstream {
 public:
  // With a `cluster`, calls that name an owner key go first to the replicas that own it ahead of
  // this one (each a source like a mirror: a "not here" or a failure passes on, wrong content
  // distrusts it). Source indexes from sources().size() on are those peers. An upstream whose
  // cfg.url is empty has no source but the peers (the releases namespace of a cluster): it is
  // always down, and what no peer has fails at once.
  Upstream(const RegistryUpstreamConfig& cfg, const RegistryConfig& reg, http::HttpClient& client,
           Metrics& metrics, const std::atomic<bool>& stopping,
           const Clock& clock = Clock::system(), cluster::Cluster* cluster = nullptr);
  ~Upstream();

  const std::string& name() const { return cfg_.name; }
  // Every source's breaker is open: nothing would be dialled.
  bool down() const;
  // Why it is down (the last error of the last source), for messages people read.
  std::string down_reason() const;
  // False until a request has been sent to any source ("not used yet" on the status page).
  bool contacted() const;
  // Whether the origin has a username configured (a refusal names what was refused).
  bool has_credentials() const { return !cfg_.username.empty(); }

  // Why a 2xx answer's content is wrong (a digest that does not match), or nothing when it is fine.
  using Check = std::function<std::optional<std::string>(const http::ClientResponse&)>;

  // A metadata call (manifest, tags, HEAD), bounded by registry.upstream_timeout. `path` starts
  // with /v2/. Goes to the sources in order, skipping those whose breaker is open, passing to the
  // next as described above; a mirror's answer that fails `check` distrusts it. The origin's
  // answer is returned whatever it is (the caller verifies it); when only mirrors answered, the
  // first "not here" answer is. Every breaker open: the origin is tried. A non-empty `owner_key`
  // (a digest) asks the cluster first, as `asking` says.
  Result<http::ClientResponse> call(const std::string& method, const std::string& path,
                                    const std::string& repo,
                                    std::vector<std::pair<std::string, std::string>> headers = {},
                                    const Check& check = {}, std::string_view owner_key = {},
                                    cluster::Asking asking = {});
  // How many live peers the cluster has to ask (0 without a cluster).
  std::size_t live_peers() const;
  // For a tag this replica has never resolved while its sources are down: asks each live peer
  // (which may reach its own upstream) and returns the first 2xx answer that passes `check`, or
  // nothing when no peer had it.
  std::optional<Result<http::ClientResponse>> call_peers(
      const std::string& method, const std::string& path,
      std::vector<std::pair<std::string, std::string>> headers, const Check& check);
  // Streams a blob from `offset` into `sink` (2xx only) from the first healthy source that has it;
  // no overall time bound, a stall bound. The caller retries (upstream/resumable). `served_by`
  // receives the source that answered, a handle (for distrust() and byte counts). The cluster
  // is asked first, as `asking` says.
  Result<http::ClientResponse> fetch_blob(const std::string& repo, const std::string& digest,
                                          std::uint64_t offset, http::BodySink& sink,
                                          upstream::Source** served_by = nullptr,
                                          cluster::Asking asking = {});
  // Source `s` (a mirror or a peer) sent content that did not verify: its breaker opens with
  // `why`. The origin is never distrusted (it is the authority; its wrong bytes fail the request
  // instead).
  // `digest`: the blob whose bytes did not verify (the bucket's copy is replaced).
  void distrust(upstream::Source& s, const std::string& why, const Digest* digest = nullptr);
  // The origin's handle (never distrusted).
  upstream::Source& origin() { return sources_.origin(); }
  // Whether `s` is a mirror or a peer (content from it is checked, a lie distrusts it).
  static bool is_mirror(const upstream::Source& s) {
    return s.spec().role != upstream::Role::origin;
  }
  // Every source in order: mirrors, then the origin.
  std::vector<upstream::SourceHealth> sources() const;
  // A registry write (blob upload, manifest PUT) under a pull,push token, to the origin only.
  // `req.url` is a path starting with /v2/ or an absolute URL on the origin (an upload Location);
  // no overall time bound, a stall bound.
  Result<http::ClientResponse> push_call(http::ClientRequest req, const std::string& repo);
  // GET /v2/ on every source whose probe is due; closes its breaker when it answers. Used by the
  // background prober.
  void probe_due();
  // With an object store behind the local store: blob fetches ask the bucket first (after the
  // cluster's owners, before the mirrors). Set before serving.
  void set_object_tier(tier::ObjectTier* tier) { tier_ = tier; }
  tier::ObjectTier* object_tier() const { return tier_; }

 private:
  struct Link;  // a source with its token cache
  // `req` for `link`: a mirror's relative URL gains ns=<name>, and its repository_prefix in front
  // of `repo` (/v2/<prefix>/<repo>/…).
  http::ClientRequest for_link(const Link& link, http::ClientRequest req,
                               const std::string& repo) const;
  // The token scope for `repo` on `link` (the prefixed name on a mirror with a prefix).
  static std::string scope(const Link& link, const std::string& repo, bool push = false);
  Result<http::ClientResponse> send(Link& link, http::ClientRequest req, const std::string& scope,
                                    http::BodySink* sink);
  std::optional<std::string> auth_header(Link& link, const std::string& scope);
  Result<void> authenticate(Link& link, const std::string& challenge_header,
                            const std::string& scope);
  // Counts an outage in the metrics (the engine records it in the breaker).
  void count_outage(const Result<http::ClientResponse>& r);
  Link& link_of(const upstream::Source& s);
  // Whom a request asks, in order: the peers the cluster names for `key` (as `asking` says), then
  // the sources to try. `none` becomes why nothing could be asked: a peers-only upstream, or every
  // source down once peers or the bucket were named (fail fast rather than dial a dead origin);
  // `sources_skipped` (when given) is set then.
  std::vector<upstream::Hop> order(std::string_view key, cluster::Asking asking, Error& none,
                                   bool with_store = false, bool* sources_skipped = nullptr);
  // Sends `req` to one hop: a peer (ns=, its time bound, held-only) or a source (its token).
  Result<http::ClientResponse> ask(const upstream::Hop& hop, http::ClientRequest req,
                                   const std::string& repo, http::BodySink* sink);
  // A 2xx answer from a mirror or peer that fails `check` is distrusted (and counted).
  upstream::Judged judge_content(const upstream::Source& s, const Result<http::ClientResponse>& r,
                                 const Check& check);

  const RegistryUpstreamConfig& cfg_;
  const RegistryConfig& reg_;
  http::HttpClient& client_;
  const std::atomic<bool>& stopping_;
  const Clock& clock_;
  MetricFamily& errors_;
  cluster::Cluster* cluster_;                 // nullable
  tier::ObjectTier* tier_ = nullptr;          // the object store, in a hub on S3
  const bool peers_only_;                     // no source of its own
  upstream::SourceList sources_;              // mirrors in order, then the origin
  std::vector<std::unique_ptr<Link>> links_;  // links_[i] is sources_.at(i)
};

}  // namespace outpost::registry
