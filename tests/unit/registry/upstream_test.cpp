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

// example.io with the origin's credentials; with a hub as its mirror when `WithHub`.
template <bool WithHub>
struct UpstreamFixture : ::testing::Test {
  RegistryConfig reg = [] {
    RegistryConfig r;
    RegistryUpstreamConfig u;
    u.name = "example.io";
    u.url = "https://registry.example.io";
    u.username = "user";
    u.password = "s3cret";
    if (WithHub) {
      MirrorConfig hub;
      hub.url = "http://hub.region.test:8080";
      hub.insecure = true;
      u.mirrors = {hub};
    }
    r.upstreams = {u};
    return r;
  }();
  ScriptedClient client;
  Metrics metrics;
  std::atomic<bool> stopping{false};
  FakeClock clock;
  Upstream up{reg.upstreams[0], reg, client, metrics, stopping, clock};
};
using UpstreamTest = UpstreamFixture<false>;

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

// The same upstream with a hub as its mirror, tried before the origin.
struct MirroredUpstreamTest : UpstreamFixture<true> {
  static bool to_hub(const http::ClientRequest& r) {
    return r.url.starts_with("http://hub.region.test:8080/");
  }
};

TEST_F(MirroredUpstreamTest, TheHubIsAskedFirstWithNsAndWithoutTheOriginsCredentials) {
  client.script.push_back([](auto& req) {
    EXPECT_EQ(req.url, "http://hub.region.test:8080/v2/app/manifests/v1?ns=example.io");
    EXPECT_FALSE(header(req, "Authorization"));
    return resp(200, {}, "{}");
  });
  auto r = up.call("GET", "/v2/app/manifests/v1", "app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(client.seen.size(), 1u);
  // A query the path already has keeps it: ns is added with &.
  client.script.push_back([](auto& req) {
    EXPECT_EQ(req.url, "http://hub.region.test:8080/v2/app/tags/list?n=5&ns=example.io");
    return resp(200, {}, "{}");
  });
  EXPECT_TRUE(up.call("GET", "/v2/app/tags/list?n=5", "app"));
}

TEST_F(MirroredUpstreamTest, AHubThatLacksTheContentPassesTheRequestToTheOrigin) {
  client.script.push_back([](auto& req) {
    EXPECT_TRUE(to_hub(req));
    return resp(404);
  });
  client.script.push_back([](auto& req) {
    EXPECT_EQ(req.url, "https://registry.example.io/v2/app/blobs/sha256:ab");
    return resp(200, {{"Content-Length", "3"}});
  });
  auto r = up.call("HEAD", "/v2/app/blobs/sha256:ab", "app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);              // never a false 404
  EXPECT_TRUE(up.sources()[0].state.up);  // "not here" is no outage
}

TEST_F(MirroredUpstreamTest, AHubThatIsDownOpensItsBreakerAndTheOriginAnswers) {
  client.script.push_back([](auto&) { return fail(Errc::upstream_unavailable, "refused"); });
  client.script.push_back([](auto& req) {
    EXPECT_FALSE(to_hub(req));
    return resp(200, {}, "{}");
  });
  ASSERT_TRUE(up.call("GET", "/v2/app/manifests/v1", "app"));
  auto sources = up.sources();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].role, "mirror");
  EXPECT_FALSE(sources[0].state.up);
  EXPECT_TRUE(sources[1].state.up);
  EXPECT_FALSE(up.down());
  // While the hub's breaker is open, calls go straight to the origin.
  client.script.push_back([](auto& req) {
    EXPECT_FALSE(to_hub(req));
    return resp(200, {}, "{}");
  });
  ASSERT_TRUE(up.call("GET", "/v2/app/manifests/v1", "app"));
  EXPECT_EQ(client.seen.size(), 3u);
}

TEST_F(MirroredUpstreamTest, AHubAnswerThatFailsTheCheckIsDistrustedAndTheOriginAsked) {
  client.script.push_back([](auto&) { return resp(200, {}, "lie"); });
  client.script.push_back([](auto&) { return resp(200, {}, "truth"); });
  auto check = [](const http::ClientResponse& r) -> std::optional<std::string> {
    if (r.body != "truth") return "wrong manifest";
    return std::nullopt;
  };
  auto r = up.call("GET", "/v2/app/manifests/v1", "app", {}, check);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "truth");
  EXPECT_FALSE(up.sources()[0].state.up);
  EXPECT_NE(up.sources()[0].state.last_error.find("wrong manifest"), std::string::npos);
}

TEST_F(MirroredUpstreamTest, ACancelledCallEndsThereWithNoOtherSourceAsked) {
  client.script.push_back([](auto&) { return fail(Errc::cancelled, "shutting down"); });
  auto r = up.call("GET", "/v2/app/manifests/v1", "app");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::cancelled);
  EXPECT_EQ(client.seen.size(), 1u);
  EXPECT_TRUE(up.sources()[0].state.up);  // cancellation is no outage
}

TEST_F(MirroredUpstreamTest, WhenOnlyTheHubIsLeftItsNotFoundIsTheAnswer) {
  up.distrust(up.origin(), "ignored: the origin is never distrusted");
  EXPECT_TRUE(up.sources()[1].state.up);
  client.script.push_back([](auto&) { return resp(404); });
  client.script.push_back([](auto&) { return fail(Errc::upstream_unavailable, "origin down"); });
  auto r = up.call("GET", "/v2/app/manifests/v2", "app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);  // the hub's "not here", the best answer there is
  EXPECT_FALSE(up.sources()[1].state.up);
}

// The registry's verdict table for a hub's answers (upstream/ask.hpp): "not here" answers pass the
// request on and leave the hub up; a 5xx is an outage and opens its breaker; the origin answers.
TEST_F(MirroredUpstreamTest, EachHubAnswerPassesTheRequestOnAsItsVerdictSays) {
  auto hub_then_origin = [&](int status) {
    client.script.push_back([status](auto& req) {
      EXPECT_TRUE(to_hub(req));
      return resp(status);
    });
    client.script.push_back([](auto& req) {
      EXPECT_FALSE(to_hub(req));
      return resp(200, {}, "{}");
    });
    auto r = up.call("GET", "/v2/app/manifests/v1", "app");
    ASSERT_TRUE(r) << status;
    EXPECT_EQ(r->status, 200) << status;
  };
  for (int status : {401, 403, 404, 429}) {
    hub_then_origin(status);
    EXPECT_TRUE(up.sources()[0].state.up) << status;  // not here: no outage
  }
  hub_then_origin(503);
  EXPECT_FALSE(up.sources()[0].state.up);  // down
  EXPECT_EQ(up.sources()[0].state.last_error, "HTTP 503");
}

// A hub that is not an Outpost: an Artifactory-style path before /v2 and a Harbor-style project
// in front of every repository; its token realm is asked for the prefixed name.
TEST(HubWithPrefixes, PathIsKeptRepositoryIsPrefixedAndTokensAreScopedToThePrefixedName) {
  RegistryConfig reg;
  RegistryUpstreamConfig u;
  u.name = "docker.io";
  u.url = "https://registry-1.docker.io";
  MirrorConfig hub;
  hub.url = "https://harbor.corp/artifactory/api/docker/dockerhub";
  hub.repository_prefix = "dockerhub-proxy";
  u.mirrors = {hub};
  reg.upstreams = {u};
  ScriptedClient client;
  Metrics metrics;
  std::atomic<bool> stopping{false};
  FakeClock clock;
  Upstream up{reg.upstreams[0], reg, client, metrics, stopping, clock};
  const std::string base = "https://harbor.corp/artifactory/api/docker/dockerhub";
  client.script.push_back([&](auto& req) {
    EXPECT_EQ(req.url, base + "/v2/dockerhub-proxy/library/nginx/manifests/1.27?ns=docker.io");
    return resp(401, {{"WWW-Authenticate", R"(Bearer realm="https://harbor.corp/service/token",)"
                                           R"(service="harbor-registry")"}});
  });
  client.script.push_back([](auto& req) {
    EXPECT_EQ(req.url,
              "https://harbor.corp/service/token?service=harbor-registry&"
              "scope=repository:dockerhub-proxy/library/nginx:pull");
    return resp(200, {}, R"({"token":"H1"})");
  });
  client.script.push_back([&](auto& req) {
    EXPECT_EQ(req.url, base + "/v2/dockerhub-proxy/library/nginx/manifests/1.27?ns=docker.io");
    EXPECT_EQ(header(req, "Authorization"), "Bearer H1");
    return resp(200, {}, "{}");
  });
  auto r = up.call("GET", "/v2/library/nginx/manifests/1.27", "library/nginx");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // A blob from the same hub: the same prefixed path, the cached token.
  client.script.push_back([&](auto& req) {
    EXPECT_EQ(req.url, base + "/v2/dockerhub-proxy/library/nginx/blobs/sha256:" +
                           std::string(64, 'a') + "?ns=docker.io");
    EXPECT_EQ(header(req, "Authorization"), "Bearer H1");
    return resp(200, {}, "x");
  });
  struct Drop final : http::BodySink {
    bool on_start(int, const http::Headers&) override { return true; }
    bool on_data(std::span<const char>) override { return true; }
  } sink;
  auto b = up.fetch_blob("library/nginx", "sha256:" + std::string(64, 'a'), 0, sink);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 200);
  // The origin never sees the prefix.
  client.script.push_back([](auto& req) {
    EXPECT_EQ(req.url, "https://registry-1.docker.io/v2/library/nginx/manifests/1.27");
    return resp(200, {}, "{}");
  });
  client.script.push_front([](auto&) { return resp(404); });  // the hub lacks it
  EXPECT_TRUE(up.call("GET", "/v2/library/nginx/manifests/1.27", "library/nginx"));
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
