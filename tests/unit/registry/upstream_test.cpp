#include "registry/upstream.hpp"

#include "upstream/origin.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>

namespace outpost::registry {
namespace {

// Fake at the HTTP seam: records requests, answers from a script.
class ScriptedClient : public http::HttpClient {
 public:
  using Answer = std::function<Result<http::ClientResponse>(const http::ClientRequest&)>;
  std::vector<http::ClientRequest> seen;
  std::deque<Answer> script;

  Result<http::ClientResponse> perform(const http::ClientRequest& req,
                                       http::BodySink* sink) override {
    seen.push_back(req);
    if (script.empty()) return fail(Errc::upstream_unavailable, "no more scripted answers");
    auto a = std::move(script.front());
    script.pop_front();
    auto r = a(req);
    if (r && sink && r->status / 100 == 2) {
      sink->on_start(r->status, r->headers);
      sink->on_data(std::span(r->body.data(), r->body.size()));
      r->body.clear();
    }
    return r;
  }
};

http::ClientResponse resp(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                          std::string body = {}) {
  http::ClientResponse r;
  r.status = status;
  for (auto& [k, v] : headers) r.headers.add(k, v);
  r.body = std::move(body);
  return r;
}

std::optional<std::string> header(const http::ClientRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return std::nullopt;
}

struct UpstreamTest : ::testing::Test {
  RegistryConfig reg = [] {
    RegistryConfig r;
    r.upstreams = {{"example.io", "https://registry.example.io", "user", "s3cret", false}};
    return r;
  }();
  ScriptedClient client;
  Metrics metrics;
  std::atomic<bool> stopping{false};
  FakeClock clock;
  Upstream up{reg.upstreams[0], reg, client, metrics, stopping, clock};
};

TEST_F(UpstreamTest, BearerChallengeFetchesTokenWithCredentialsAndRetries) {
  client.script.push_back([](auto&) {
    return resp(401, {{"WWW-Authenticate",
                       R"(Bearer realm="https://auth.example.io/token",service="reg")"}});
  });
  client.script.push_back([](auto& req) {
    EXPECT_EQ(req.url, "https://auth.example.io/token?service=reg&scope=repository:app:pull");
    EXPECT_EQ(header(req, "Authorization"), "Basic dXNlcjpzM2NyZXQ=");
    return resp(200, {}, R"({"token":"T1","expires_in":300})");
  });
  client.script.push_back([](auto& req) {
    EXPECT_EQ(header(req, "Authorization"), "Bearer T1");
    return resp(200, {}, "{}");
  });
  auto r = up.call("GET", "/v2/app/manifests/latest", "app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // The token is cached per scope: the next call sends it straight away.
  client.script.push_back([](auto& req) {
    EXPECT_EQ(header(req, "Authorization"), "Bearer T1");
    return resp(200);
  });
  EXPECT_TRUE(up.call("HEAD", "/v2/app/manifests/latest", "app"));
  EXPECT_EQ(client.seen.size(), 4u);
}

TEST_F(UpstreamTest, RedirectToAnotherHostCarriesNoCredentials) {
  client.script.push_back([](auto&) {
    return resp(401, {{"WWW-Authenticate", R"(Basic realm="r")"}});
  });
  client.script.push_back([](auto& req) {
    EXPECT_TRUE(header(req, "Authorization"));
    return resp(307, {{"Location", "https://cdn.example.net/blob?sig=1"}});
  });
  client.script.push_back([](auto& req) {
    EXPECT_EQ(req.url, "https://cdn.example.net/blob?sig=1");
    EXPECT_FALSE(header(req, "Authorization"));
    return resp(200, {{"Content-Length", "3"}}, "abc");
  });
  struct Sink : http::BodySink {
    std::string got;
    bool on_start(int, const http::Headers&) override { return true; }
    bool on_data(std::span<const char> b) override {
      got.append(b.data(), b.size());
      return true;
    }
  } sink;
  auto r = up.fetch_blob("app", "sha256:" + std::string(64, 'a'), 0, sink);
  ASSERT_TRUE(r);
  EXPECT_EQ(sink.got, "abc");
}

TEST_F(UpstreamTest, RedirectToPlainHttpIsRefused) {
  client.script.push_back([](auto&) {
    return resp(302, {{"Location", "http://cdn.example.net/x"}});
  });
  auto r = up.call("GET", "/v2/app/tags/list", "app");
  ASSERT_FALSE(r);
  EXPECT_EQ(client.seen.size(), 1u);
}

TEST_F(UpstreamTest, TransportFailureOpensTheBreakerAndAProbeClosesIt) {
  EXPECT_FALSE(up.down());
  EXPECT_FALSE(up.contacted());
  auto r = up.call("HEAD", "/v2/app/manifests/latest", "app");  // script empty: unavailable
  ASSERT_FALSE(r);
  EXPECT_TRUE(up.down());
  EXPECT_TRUE(up.contacted());
  up.probe_due();  // not due yet: nothing is sent
  EXPECT_EQ(client.seen.size(), 1u);
  clock.advance(reg.breaker_min_backoff);
  client.script.push_back([](auto&) { return resp(401); });
  up.probe_due();
  EXPECT_FALSE(up.down());
}

TEST_F(UpstreamTest, ASecond401IsTheCallersToReport) {
  client.script.push_back([](auto&) {
    return resp(401, {{"WWW-Authenticate", R"(Bearer realm="https://auth.example.io/token")"}});
  });
  client.script.push_back([](auto&) { return resp(200, {}, R"({"token":"T"})"); });
  client.script.push_back([](auto&) { return resp(401); });
  auto r = up.call("GET", "/v2/app/manifests/latest", "app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_FALSE(up.down());  // an answer, not an outage
}

TEST(UrlHelpers, OriginAndLocationResolution) {
  EXPECT_EQ(upstream::url_origin("https://a.io/x"), upstream::url_origin("https://a.io:443/y"));
  EXPECT_NE(upstream::url_origin("https://a.io/x"), upstream::url_origin("https://a.io:8443/x"));
  EXPECT_NE(upstream::url_origin("https://a.io/x"), upstream::url_origin("http://a.io/x"));
  EXPECT_EQ(upstream::resolve_location("https://a.io/v2/x/blobs/y", "/other?z=1"),
            "https://a.io/other?z=1");
}

}  // namespace
}  // namespace outpost::registry
