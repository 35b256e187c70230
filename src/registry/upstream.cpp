#include "registry/upstream.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "registry/www_authenticate.hpp"

namespace outpost::registry {
namespace {

std::string scope_for(const std::string& repo, bool push = false) {
  return "repository:" + repo + (push ? ":pull,push" : ":pull");
}

}  // namespace

std::string url_origin(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return {};
  std::string port(u->port());
  if (port.empty()) port = u->scheme() == "https" ? "443" : "80";
  return fmt::format("{}://{}:{}", std::string(u->scheme()), std::string(u->encoded_host()), port);
}

std::string resolve_location(const std::string& base, const std::string& location) {
  auto b = boost::urls::parse_absolute_uri(base);
  auto ref = boost::urls::parse_uri_reference(location);
  if (!b || !ref) return location;
  boost::urls::url out;
  if (!boost::urls::resolve(*b, *ref, out)) return location;
  return std::string(out.buffer());
}

Upstream::Upstream(const RegistryUpstreamConfig& cfg, const RegistryConfig& reg,
                   http::HttpClient& client, Metrics& metrics, const std::atomic<bool>& stopping,
                   const Clock& clock)
    : cfg_(cfg),
      reg_(reg),
      client_(client),
      stopping_(stopping),
      breaker_(reg.breaker_min_backoff, reg.breaker_max_backoff, clock),
      errors_(metrics.counter("outpost_upstream_errors_total",
                              "Failed upstream calls by upstream and reason")) {}

bool Upstream::same_origin(const std::string& url) const {
  return url_origin(url) == url_origin(cfg_.url);
}

std::optional<std::string> Upstream::auth_header(const std::string& scope) {
  std::lock_guard lock(mu_);
  if (use_basic_ && !cfg_.username.empty()) return basic_auth(cfg_.username, cfg_.password);
  auto it = tokens_.find(scope);
  if (it != tokens_.end() && std::chrono::steady_clock::now() < it->second.expires)
    return "Bearer " + it->second.value;
  return std::nullopt;
}

Result<void> Upstream::authenticate(const std::string& header, const std::string& scope) {
  auto ch = parse_www_authenticate(header);
  if (!ch)
    return fail(Errc::upstream_error, "upstream sent an unreadable WWW-Authenticate challenge");
  if (ch->scheme == "basic") {
    if (cfg_.username.empty())
      return fail(Errc::upstream_error,
                  "upstream wants basic auth and no credentials are configured");
    std::lock_guard lock(mu_);
    use_basic_ = true;
    return {};
  }
  auto realm = ch->params["realm"];
  auto realm_url = boost::urls::parse_absolute_uri(realm);
  if (!realm_url || (realm_url->scheme() != "https" && realm_url->scheme() != "http"))
    return fail(Errc::upstream_error, "upstream token realm is not an http(s) URL");
  boost::urls::url token_url(*realm_url);
  if (ch->params.contains("service")) token_url.params().append({"service", ch->params["service"]});
  token_url.params().append({"scope", ch->params.contains("scope") ? ch->params["scope"] : scope});

  http::ClientRequest req;
  req.url = std::string(token_url.buffer());
  req.connect_timeout = reg_.upstream_timeout;
  req.total_timeout = reg_.upstream_timeout;
  req.insecure = cfg_.insecure;
  req.cancel = &stopping_;
  if (!cfg_.username.empty())
    req.headers.emplace_back("Authorization", basic_auth(cfg_.username, cfg_.password));
  auto resp = client_.perform(req);
  if (!resp) return std::unexpected(resp.error());
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
  expires_in = std::max(expires_in - 10, 5L);
  std::lock_guard lock(mu_);
  tokens_[scope] = {token, std::chrono::steady_clock::now() + std::chrono::seconds(expires_in)};
  return {};
}

Result<http::ClientResponse> Upstream::send(http::ClientRequest req, const std::string& scope,
                                            http::BodySink* sink) {
  const auto base_headers = req.headers;
  const std::string first_url = req.url;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string url = first_url;
    Result<http::ClientResponse> resp = fail(Errc::internal, "no request made");
    for (int hop = 0; hop < 6; ++hop) {
      req.url = url;
      req.headers = base_headers;
      // Credentials go only to the configured upstream's own origin, never across a redirect.
      if (same_origin(url)) {
        if (auto a = auth_header(scope)) req.headers.emplace_back("Authorization", *a);
      }
      contacted_ = true;
      resp = client_.perform(req, sink);
      if (!resp) return resp;
      int s = resp->status;
      if ((s == 301 || s == 302 || s == 303 || s == 307 || s == 308) &&
          resp->headers.get("Location")) {
        url = resolve_location(url, std::string(*resp->headers.get("Location")));
        if (!url.starts_with("https://") && !(cfg_.insecure && url.starts_with("http://")))
          return fail(Errc::upstream_error, "upstream redirected to a non-https URL");
        continue;
      }
      break;
    }
    if (resp->status == 401 && attempt == 0) {
      auto ch = resp->headers.get("WWW-Authenticate");
      if (!ch) return resp;
      if (auto a = authenticate(std::string(*ch), scope); !a) return std::unexpected(a.error());
      continue;
    }
    return resp;
  }
  return fail(Errc::upstream_error, "upstream refused the credentials");
}

void Upstream::note_result(const Result<http::ClientResponse>& r) {
  if (!r) {
    if (r.error().code == Errc::cancelled) return;
    errors_.add({{"upstream", cfg_.name}, {"reason", std::string(errc_name(r.error().code))}});
    breaker_.record_failure(r.error().message);
    spdlog::warn("upstream {} marked down: {}", cfg_.name, r.error().message);
    return;
  }
  if (r->status >= 500) {
    errors_.add({{"upstream", cfg_.name}, {"reason", "http_" + std::to_string(r->status)}});
    breaker_.record_failure(fmt::format("HTTP {}", r->status));
    return;
  }
  breaker_.record_success();
}

Result<http::ClientResponse> Upstream::call(
    const std::string& method, const std::string& path, const std::string& repo,
    std::vector<std::pair<std::string, std::string>> headers) {
  http::ClientRequest req;
  req.method = method;
  req.url = cfg_.url + path;
  req.headers = std::move(headers);
  req.connect_timeout = reg_.upstream_timeout;
  req.total_timeout = reg_.upstream_timeout;
  req.insecure = cfg_.insecure;
  req.cancel = &stopping_;
  auto r = send(std::move(req), scope_for(repo), nullptr);
  note_result(r);
  return r;
}

Result<http::ClientResponse> Upstream::push_call(http::ClientRequest req, const std::string& repo) {
  if (req.url.starts_with("/")) req.url = cfg_.url + req.url;
  if (!same_origin(req.url))
    return fail(Errc::upstream_error, "registry sent an upload location on another origin");
  req.connect_timeout = reg_.upstream_timeout;
  req.stall_timeout = reg_.stall_timeout;
  req.insecure = cfg_.insecure;
  req.cancel = &stopping_;
  auto r = send(std::move(req), scope_for(repo, true), nullptr);
  note_result(r);
  return r;
}

Result<http::ClientResponse> Upstream::fetch_blob(const std::string& repo,
                                                  const std::string& digest, std::uint64_t offset,
                                                  http::BodySink& sink) {
  http::ClientRequest req;
  req.url = fmt::format("{}/v2/{}/blobs/{}", cfg_.url, repo, digest);
  if (offset > 0) req.headers.emplace_back("Range", fmt::format("bytes={}-", offset));
  req.connect_timeout = reg_.upstream_timeout;
  req.stall_timeout = reg_.stall_timeout;
  req.insecure = cfg_.insecure;
  req.cancel = &stopping_;
  auto r = send(std::move(req), scope_for(repo), &sink);
  // A dropped or stalled body is resumed by the caller; only a refused connection means "down".
  if (!r && r.error().code == Errc::upstream_unavailable)
    note_result(r);
  else if (r)
    note_result(r);
  return r;
}

bool Upstream::probe() {
  http::ClientRequest req;
  req.url = cfg_.url + "/v2/";
  req.connect_timeout = reg_.upstream_timeout;
  req.total_timeout = reg_.upstream_timeout;
  req.insecure = cfg_.insecure;
  req.cancel = &stopping_;
  contacted_ = true;
  auto r = client_.perform(req);
  bool up = r && (r->status == 200 || r->status == 401);
  if (up) {
    breaker_.record_success();
    spdlog::info("upstream {} is reachable again", cfg_.name);
  } else {
    breaker_.record_failure(r ? fmt::format("probe: HTTP {}", r->status) : r.error().message);
  }
  return up;
}

}  // namespace outpost::registry
