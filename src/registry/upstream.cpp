#include "registry/upstream.hpp"
#include "core/mutex.hpp"
#include "registry/metric_defs.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>

#include "cluster/cluster.hpp"
#include "registry/bounds.hpp"
#include "registry/route.hpp"
#include "registry/www_authenticate.hpp"
#include "tier/object_tier.hpp"

namespace outpost::registry {
namespace {

std::string scope_for(const std::string& repo, bool push = false) {
  return "repository:" + repo + (push ? ":pull,push" : ":pull");
}

}  // namespace

// A source with what the registry keeps per source: its bearer tokens.
struct Upstream::Link {
  Link(upstream::Source& s, std::string prefix) : source(s), prefix(std::move(prefix)) {}
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  upstream::Source& source;
  const std::string prefix;  // repository_prefix of a mirror ("" for none, and for the origin)
  Mutex mu;
  std::map<std::string, Token> tokens GUARDED_BY(mu);  // key: scope
  bool use_basic GUARDED_BY(mu) = false;               // the source asked for Basic
};

Upstream::Upstream(const RegistryUpstreamConfig& cfg, const RegistryConfig& reg,
                   http::HttpClient& client, Metrics& metrics, const std::atomic<bool>& stopping,
                   const Clock& clock, cluster::Cluster* cluster)
    : cfg_(cfg),
      reg_(reg),
      client_(client),
      stopping_(stopping),
      clock_(clock),
      errors_(metrics.counter(metric::upstream_errors_total)),
      cluster_(cluster && cluster->enabled() ? cluster : nullptr),
      peers_only_(cfg.url.empty()),
      sources_(upstream::SourceSpec{cfg.url, upstream::Role::origin, cfg.insecure, cfg.username,
                                    cfg.password},
               cfg.mirrors, {reg.breaker_min_backoff, reg.breaker_max_backoff}, client, stopping,
               clock) {
  // Sources are the mirrors in configured order, then the origin.
  for (std::size_t i = 0; i < sources_.size(); ++i)
    links_.push_back(std::make_unique<Link>(
        sources_.at(i), i < cfg.mirrors.size() ? cfg.mirrors[i].repository_prefix : ""));
}

Upstream::~Upstream() = default;

void Upstream::distrust(upstream::Source& s, const std::string& why, const Digest* digest) {
  if (!is_mirror(s)) return;  // the origin is the authority: its wrong content fails the request
  if (s.spec().role == upstream::Role::store && tier_ && digest) tier_->corrupt(*digest);
  const auto role = s.spec().role;
  errors_.add({{"upstream", cfg_.name},
               {"reason", std::string(upstream::role_name(role)) + "_wrong_content"}});
  upstream::record(s, {upstream::Verdict::distrust, why}, "upstream " + cfg_.name);
}

std::vector<upstream::SourceHealth> Upstream::sources() const {
  return sources_.health();
}

http::ClientRequest Upstream::for_link(const Link& link, http::ClientRequest req,
                                       const std::string& repo) const {
  if (!req.url.starts_with("/")) return req;
  if (!link.prefix.empty() && req.url.starts_with("/v2/" + repo + "/"))
    req.url.insert(4, link.prefix + "/");
  if (&link.source != &sources_.origin() && req.url.find("ns=") == std::string::npos)
    req.url = with_ns(std::move(req.url), cfg_.name);
  return req;
}

std::string Upstream::scope(const Link& link, const std::string& repo, bool push) {
  return scope_for(link.prefix.empty() ? repo : link.prefix + "/" + repo, push);
}

bool Upstream::down() const {
  return peers_only_ || sources_.down();
}

std::string Upstream::down_reason() const {
  auto st = sources_.origin().breaker().state();
  return st.last_error.empty() ? "circuit open" : st.last_error;
}

bool Upstream::contacted() const {
  return sources_.contacted();
}

std::optional<std::string> Upstream::auth_header(Link& link, const std::string& scope) {
  MutexLock lock(link.mu);
  if (link.use_basic) return link.source.basic_authorization();
  auto it = link.tokens.find(scope);
  if (it != link.tokens.end() && clock_.steady_now() < it->second.expires)
    return "Bearer " + it->second.value;
  return std::nullopt;
}

Result<void> Upstream::authenticate(Link& link, const std::string& header,
                                    const std::string& scope) {
  auto ch = parse_www_authenticate(header);
  if (!ch)
    return fail(Errc::upstream_error, "upstream sent an unreadable WWW-Authenticate challenge");
  if (ch->scheme == "basic") {
    if (!link.source.basic_authorization())
      return fail(Errc::unauthorized,
                  "upstream wants basic auth and no credentials are configured");
    MutexLock lock(link.mu);
    link.use_basic = true;
    return {};
  }
  auto realm = ch->params["realm"];
  auto realm_url = boost::urls::parse_absolute_uri(realm);
  if (!realm_url || (realm_url->scheme() != "https" && realm_url->scheme() != "http"))
    return fail(Errc::upstream_error, "upstream token realm is not an http(s) URL");
  boost::urls::url token_url(*realm_url);
  if (ch->params.contains("service")) token_url.params().append({"service", ch->params["service"]});
  token_url.params().append({"scope", ch->params.contains("scope") ? ch->params["scope"] : scope});

  // The realm is the registry's chosen token service: this source's credentials go there (and
  // nowhere a redirect from it points).
  http::ClientRequest req;
  req.url = std::string(token_url.buffer());
  req.connect_timeout = reg_.upstream_timeout;
  req.total_timeout = reg_.upstream_timeout;
  req.insecure = link.source.spec().insecure;
  req.cancel = &stopping_;
  req.max_body = kMaxTokenAnswerBytes;
  req.body_name = "token answer";
  // Credentials never travel in clear text to a realm unless this source is marked insecure.
  if (auto basic = link.source.basic_authorization()) {
    if (realm_url->scheme() != "https" && !link.source.spec().insecure)
      return fail(Errc::upstream_error,
                  "upstream token realm is plain http: credentials are not sent there (set "
                  "insecure: true to allow it)");
    req.headers.emplace_back("Authorization", *basic);
  }
  auto resp = client_.perform(req);
  if (!resp) return std::unexpected(resp.error());
  // The token service refused these credentials, or this scope to this account (ghcr.io answers
  // 401 to anonymous for a private repository): an answer about access, not an outage.
  if (resp->status == 401 || resp->status == 403)
    return fail(Errc::unauthorized, fmt::format("token service answered HTTP {}", resp->status));
  if (resp->status != 200)
    return fail(Errc::upstream_error, fmt::format("token service answered HTTP {}", resp->status));
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::upstream_error, "token service sent invalid JSON");
  std::string token;
  if (j.contains("token") && j["token"].is_string())
    token = j["token"];
  else if (j.contains("access_token") && j["access_token"].is_string())
    token = j["access_token"];
  if (token.empty()) return fail(Errc::upstream_error, "token service sent no token");
  long expires_in = 60;
  if (j.contains("expires_in") && j["expires_in"].is_number_integer()) expires_in = j["expires_in"];
  // Renewed a little before it lapses; a short-lived token is kept for half its life.
  expires_in = expires_in > 20 ? expires_in - 10 : std::max(expires_in / 2, 1L);
  MutexLock lock(link.mu);
  link.tokens[scope] = {token, clock_.steady_now() + std::chrono::seconds(expires_in)};
  return {};
}

Result<http::ClientResponse> Upstream::send(Link& link, http::ClientRequest req,
                                            const std::string& scope, http::BodySink* sink) {
  auto authorize = [&] { return auth_header(link, scope); };
  auto resp = link.source.send(req, sink, authorize);
  if (!resp || resp->status != 401) return resp;
  auto ch = resp->headers.get("WWW-Authenticate");
  if (!ch) return resp;
  if (auto a = authenticate(link, std::string(*ch), scope); !a) {
    // Refused: the registry's 401 stands. The caller reports the refusal, note() does not count
    // it against the breaker, and a mirror passes the request on.
    if (a.error().code == Errc::unauthorized) return resp;
    return std::unexpected(a.error());
  }
  return link.source.send(std::move(req), sink, authorize);  // a second 401: the caller says so
}

void Upstream::count_outage(const Result<http::ClientResponse>& r) {
  if (!upstream::is_outage(r)) return;
  auto reason = r ? "http_" + std::to_string(r->status) : std::string(errc_name(r.error().code));
  errors_.add({{"upstream", cfg_.name}, {"reason", reason}});
}

Upstream::Link& Upstream::link_of(const upstream::Source& s) {
  for (auto& l : links_)
    if (&l->source == &s) return *l;
  return *links_.back();  // unreachable: every source has its link
}

namespace {

// Passes a body on, remembering whether any of it was.
struct Watched final : http::BodySink {
  explicit Watched(http::BodySink* to) : to(to) {}
  bool on_start(int status, const http::Headers& headers) override {
    started = true;
    return to->on_start(status, headers);
  }
  bool on_data(std::span<const char> bytes) override { return to->on_data(bytes); }
  http::BodySink* to;
  bool started = false;
};

// A mirror's answer that means "ask the next source", not "this does not exist".
bool mirror_passes(int status) {
  return status == 404 || status == 401 || status == 403 || status == 429;
}

using upstream::Judged;
using upstream::Verdict;

// A peer's outcome: content it lacks or cannot give passes on (its "not here" is never the
// registry's answer: the sources are asked next), a failure before any byte is an outage, a body
// cut midway stops (the caller resumes).
Judged judge_peer(const Result<http::ClientResponse>& r, bool body_started) {
  if (!r) {
    if (body_started || r.error().code == Errc::cancelled) return {Verdict::stop};
    return upstream::is_outage(r) ? Judged{Verdict::down, r.error().message}
                                  : Judged{Verdict::pass};
  }
  if (r->status >= 500) return {Verdict::down, upstream::outage_text(r)};
  if (mirror_passes(r->status)) return {Verdict::pass};
  return {Verdict::answer};
}

}  // namespace

std::vector<upstream::Hop> Upstream::order(std::string_view key, cluster::Asking asking,
                                           Error& none, bool with_store, bool* sources_skipped) {
  std::vector<upstream::Hop> out;
  const bool ask_peers = cluster_ && !key.empty() && asking != cluster::Asking::none;
  if (ask_peers)
    for (const auto& [peer, held_only] : cluster_->ask_order(key, asking))
      out.push_back({peer.source, held_only});
  // The bucket, while it answers (or when its probe is this caller's).
  if (with_store && tier_) {
    auto& b = tier_->source().breaker();
    if (!b.is_open() || b.claim_probe()) out.push_back({&tier_->source()});
  }
  if (peers_only_) {
    none = {Errc::upstream_unavailable, "no peer holds it"};
    return out;
  }
  // Every source down too: fail now rather than dial a dead origin on a request path.
  if ((ask_peers || (with_store && tier_)) && sources_.down()) {
    none = {Errc::upstream_unavailable, ask_peers ? "no peer has it and every source is down"
                                                  : "not in the bucket and every source is down"};
    if (sources_skipped) *sources_skipped = true;
    return out;
  }
  for (auto i : sources_.to_try()) out.push_back({&sources_.at(i)});
  return out;
}

Result<http::ClientResponse> Upstream::ask(const upstream::Hop& hop, http::ClientRequest req,
                                           const std::string& repo, http::BodySink* sink) {
  if (hop.source->spec().role == upstream::Role::peer) {
    // An owner may fetch from its own upstream for this: its time bound, and then some.
    if (!hop.held_only && req.total_timeout.count() > 0) req.total_timeout += reg_.upstream_timeout;
    req.url = with_ns(std::move(req.url), cfg_.name);
    return cluster_->request(*hop.source, std::move(req), sink, hop.held_only);
  }
  Link& link = link_of(*hop.source);
  auto r = send(link, for_link(link, std::move(req), repo), scope(link, repo), sink);
  count_outage(r);
  if (r) link.source.observe(*r);
  return r;
}

upstream::Judged Upstream::judge_content(const upstream::Source& s,
                                         const Result<http::ClientResponse>& r,
                                         const Check& check) {
  if (check && r && r->status >= 200 && r->status < 300)
    if (auto why = check(*r)) {
      const bool peer = s.spec().role == upstream::Role::peer;
      errors_.add({{"upstream", cfg_.name},
                   {"reason", peer ? "peer_wrong_content" : "mirror_wrong_content"}});
      return {Verdict::distrust, *why};
    }
  return {Verdict::answer};
}

Result<http::ClientResponse> Upstream::call(
    const std::string& method, const std::string& path, const std::string& repo,
    std::vector<std::pair<std::string, std::string>> headers, const Check& check,
    std::string_view owner_key, cluster::Asking asking) {
  http::ClientRequest req;
  req.method = method;
  req.url = path;
  req.headers = std::move(headers);
  req.connect_timeout = reg_.upstream_timeout;
  req.total_timeout = reg_.upstream_timeout;
  const auto bound = document_bound(path);
  req.max_body = bound.bytes;
  req.body_name = bound.name;
  Error none{Errc::upstream_unavailable, "no source"};
  auto hops = order(owner_key, asking, none);
  auto judge = [&](const upstream::Hop& hop, const Result<http::ClientResponse>& r) -> Judged {
    const auto& s = *hop.source;
    if (s.spec().role == upstream::Role::peer) {
      auto j = judge_peer(r, false);
      return j.verdict == Verdict::answer ? judge_content(s, r, check) : j;
    }
    if (upstream::is_outage(r)) return {Verdict::down, upstream::outage_text(r)};
    if (!r) return {Verdict::stop};  // cancelled (shutdown), or over its bound
    if (s.spec().role == upstream::Role::origin) return {Verdict::answer};  // the caller verifies
    if (mirror_passes(r->status)) return {Verdict::not_here};
    return judge_content(s, r, check);
  };
  return upstream::ask_in_order<http::ClientResponse>(
             hops, [&](const upstream::Hop& hop) { return ask(hop, req, repo, nullptr); }, judge,
             "upstream " + cfg_.name, upstream::Fallback::first_not_here, none)
      .outcome;
}

Result<http::ClientResponse> Upstream::fetch_blob(const std::string& repo,
                                                  const std::string& digest, std::uint64_t offset,
                                                  http::BodySink& sink,
                                                  upstream::Source** served_by,
                                                  cluster::Asking asking) {
  http::ClientRequest req;
  req.url = fmt::format("/v2/{}/blobs/{}", repo, digest);
  if (offset > 0) req.headers.emplace_back("Range", fmt::format("bytes={}-", offset));
  req.connect_timeout = reg_.upstream_timeout;
  req.stall_timeout = reg_.stall_timeout;
  Error none{Errc::upstream_unavailable, "no source"};
  bool sources_skipped = false;
  auto hops = order(digest, asking, none, true, &sources_skipped);
  std::optional<Watched> watched;
  auto ask_one = [&](const upstream::Hop& hop) -> Result<http::ClientResponse> {
    watched.emplace(&sink);
    if (hop.source->spec().role == upstream::Role::store) {
      auto d = Digest::parse(digest);
      if (!d) return fail(Errc::invalid_argument, "not a digest");
      return tier_->fetch(*d, offset, *watched, &stopping_);
    }
    return ask(hop, req, repo, &*watched);
  };
  // A dropped or stalled body is retried by the caller from the bytes held (on the first healthy
  // source then; a refused connection opens this source's breaker). Answers without a body for
  // the sink (5xx, a mirror's "not here") go to the next source at once.
  auto judge = [&](const upstream::Hop& hop, const Result<http::ClientResponse>& r) -> Judged {
    const auto& s = *hop.source;
    if (s.spec().role == upstream::Role::peer) return judge_peer(r, watched->started);
    if (s.spec().role == upstream::Role::store) {  // the bucket: a miss or a failure asks the next
      if (!r) {
        if (r.error().code == Errc::cancelled) return {Verdict::stop};
        return watched->started ? Judged{Verdict::lost, r.error().message}
                                : Judged{Verdict::down, r.error().message};
      }
      if (r->status == 404) return {Verdict::not_here};
      if (r->status >= 300) return {Verdict::down, upstream::outage_text(r)};
      return {Verdict::answer};
    }
    if (!r)
      return r.error().code == Errc::upstream_unavailable ? Judged{Verdict::lost, r.error().message}
                                                          : Judged{Verdict::stop};
    if (r->status >= 500) return {Verdict::down, upstream::outage_text(r)};
    if (s.spec().role == upstream::Role::mirror && mirror_passes(r->status))
      return {Verdict::not_here};
    return {Verdict::answer};
  };
  auto asked = upstream::ask_in_order<http::ClientResponse>(
      hops, ask_one, judge, "upstream " + cfg_.name, upstream::Fallback::last, none);
  if (served_by && asked.by) *served_by = asked.by;
  // The bucket's "not here" with every source down: a final answer (nothing to retry) that says
  // why, not the bucket's bare 404.
  if (sources_skipped && asked.by && asked.by->spec().role == upstream::Role::store &&
      asked.outcome && asked.outcome->status == 404)
    return fail(Errc::not_found, none.message);
  return std::move(asked.outcome);
}

std::size_t Upstream::live_peers() const {
  return cluster_ ? cluster_->live_peers().size() : 0;
}

std::optional<Result<http::ClientResponse>> Upstream::call_peers(
    const std::string& method, const std::string& path,
    std::vector<std::pair<std::string, std::string>> headers, const Check& check) {
  if (!cluster_) return std::nullopt;
  std::vector<upstream::Hop> hops;
  for (const auto& peer : cluster_->live_peers()) hops.push_back({peer.source});
  http::ClientRequest req;
  req.method = method;
  req.url = path;
  req.headers = std::move(headers);
  const auto bound = document_bound(path);
  req.max_body = bound.bytes;
  req.body_name = bound.name;
  req.total_timeout = Millis(0);  // the cluster's peer_timeout
  auto judge = [&](const upstream::Hop& hop, const Result<http::ClientResponse>& r) -> Judged {
    auto j = judge_peer(r, false);
    if (j.verdict != Verdict::answer) return j;
    if (r->status < 200 || r->status >= 300) return {Verdict::pass};
    return judge_content(*hop.source, r, check);
  };
  auto asked = upstream::ask_in_order<http::ClientResponse>(
      hops,
      [&](const upstream::Hop& hop) {
        http::ClientRequest to_peer = req;
        to_peer.url = with_ns(path, cfg_.name);
        return cluster_->request(*hop.source, std::move(to_peer));
      },
      judge, "upstream " + cfg_.name);
  if (!asked.answered) return std::nullopt;
  return std::move(asked.outcome);
}

Result<http::ClientResponse> Upstream::push_call(http::ClientRequest req, const std::string& repo) {
  Link& origin = *links_.back();
  if (!req.url.starts_with("/") && !origin.source.same_origin(req.url))
    return fail(Errc::upstream_error, "registry sent an upload location on another origin");
  req.connect_timeout = reg_.upstream_timeout;
  req.stall_timeout = reg_.stall_timeout;
  auto r = send(origin, std::move(req), scope(origin, repo, true), nullptr);
  count_outage(r);
  upstream::note(origin.source, r, "upstream " + cfg_.name);
  return r;
}

void Upstream::probe_due() {
  if (stopping_ || peers_only_) return;
  sources_.probe_due(
      [this](upstream::Source& src) -> std::optional<std::string> {
        http::ClientRequest req;
        req.url = "/v2/";
        req.connect_timeout = reg_.upstream_timeout;
        req.total_timeout = reg_.upstream_timeout;
        auto r = src.send(req);
        if (r && (r->status == 200 || r->status == 401)) return std::nullopt;
        return r ? fmt::format("probe: HTTP {}", r->status) : r.error().message;
      },
      "upstream " + cfg_.name);
}

}  // namespace outpost::registry
