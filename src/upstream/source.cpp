#include "upstream/source.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "upstream/origin.hpp"

namespace outpost::upstream {

Source::Source(SourceSpec spec, BreakerPolicy breaker, http::HttpClient& client,
               const std::atomic<bool>& stopping, const Clock& clock)
    : spec_(std::move(spec)),
      origin_(url_origin(spec_.url)),
      client_(client),
      stopping_(stopping),
      breaker_(breaker.min_backoff, breaker.max_backoff, clock),
      clock_(clock) {}

void Source::pause_for(Millis d) {
  auto until = clock_.steady_now() + d;
  paused_until_ = until.time_since_epoch().count();
}

Millis Source::paused() const {
  const auto now = clock_.steady_now().time_since_epoch();
  const auto until = std::chrono::steady_clock::duration(paused_until_.load());
  return until > now ? std::chrono::ceil<Millis>(until - now) : Millis(0);
}

bool Source::same_origin(std::string_view url) const {
  return !origin_.empty() && url_origin(url) == origin_;
}

std::optional<std::string> Source::basic_authorization() const {
  if (spec_.username.empty()) return std::nullopt;
  return basic_auth(spec_.username, spec_.password);
}

Result<http::ClientResponse> Source::send(http::ClientRequest req, http::BodySink* sink,
                                          const Authorize& authorize) {
  if (req.url.starts_with("/")) req.url = spec_.url + req.url;
  req.insecure = spec_.insecure;
  if (!req.cancel) req.cancel = &stopping_;
  const auto base_headers = req.headers;
  std::string url = req.url;
  for (int hop = 0; hop < 6; ++hop) {
    req.url = url;
    req.headers = base_headers;
    if (spec_.allow_url)
      if (auto ok = spec_.allow_url(url); !ok)
        return fail(ok.error().code,
                    hop == 0 ? ok.error().message
                             : fmt::format("{} redirected: {}", spec_.url, ok.error().message));
    // Credentials go only to this source's own origin, never across a redirect.
    if (authorize && same_origin(url)) {
      if (auto a = authorize()) req.headers.emplace_back("Authorization", *a);
    }
    contacted_ = true;
    auto resp = client_.perform(req, sink);
    if (!resp) return resp;
    auto location = resp->headers.get("Location");
    if (!is_redirect(resp->status) || !location) return resp;
    url = resolve_location(url, std::string(*location));
    if (!url.starts_with("https://") && !(spec_.insecure && url.starts_with("http://")))
      return fail(Errc::upstream_error, fmt::format("{} redirected to a non-https URL", spec_.url));
  }
  return fail(Errc::upstream_error, fmt::format("{}: too many redirects", spec_.url));
}

bool is_outage(const Result<http::ClientResponse>& r) {
  if (r) return r->status >= 500;
  return r.error().code != Errc::cancelled && r.error().code != Errc::too_large;
}

std::string_view role_name(Role r) {
  switch (r) {
    case Role::origin:
      return "origin";
    case Role::mirror:
      return "mirror";
    case Role::peer:
      return "peer";
    case Role::store:
      return "store";
  }
  return "?";
}

SourceHealth Source::health() const {
  SourceHealth h{spec_.url, std::string(role_name(spec_.role)), contacted_, breaker_.state(),
                 bytes_};
  MutexLock lock(rate_mu_);
  h.rate_limit = rate_limit_;
  return h;
}

namespace {

// "100;w=21600" → {100, 21600}; nullopt for anything else.
struct Quota {
  std::uint64_t count = 0, window = 0;
};
std::optional<Quota> quota(std::string_view v) {
  Quota q;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), q.count);
  if (ec != std::errc()) return std::nullopt;
  std::string_view rest(p, v.data() + v.size() - p);
  if (auto at = rest.find("w="); at != std::string_view::npos)
    std::from_chars(rest.data() + at + 2, rest.data() + rest.size(), q.window);
  return q;
}

}  // namespace

void Source::observe(const http::ClientResponse& r) {
  auto limit = r.headers.get("ratelimit-limit");
  auto remaining = r.headers.get("ratelimit-remaining");
  auto l = limit ? quota(*limit) : std::nullopt;
  auto m = remaining ? quota(*remaining) : std::nullopt;
  if (!l || !m) return;
  RateLimit rl;
  rl.limit = l->count;
  rl.remaining = m->count;
  rl.window_seconds = std::max(l->window, m->window);
  rl.source = std::string(r.headers.get("docker-ratelimit-source").value_or(""));
  rl.seen = clock_.system_now();
  MutexLock lock(rate_mu_);
  rate_limit_ = std::move(rl);
}

}  // namespace outpost::upstream
