#include "http/auth.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"

namespace outpost::http {
namespace {

Request make(std::string method, std::string target, std::string remote,
             std::optional<std::string> authorization = std::nullopt) {
  auto r = Request::make(std::move(method), std::move(target)).value();
  r.remote = std::move(remote);
  if (authorization) r.headers.add("Authorization", *authorization);
  return r;
}

AuthConfig config() {
  AuthConfig c;
  c.require = {"registry", "git"};
  c.tokens = {{"presync", "admin-token-0123456789", {"admin", "status"}},
              {"nodes", "nodes-token-0123456789", {"registry"}}};
  c.htpasswd["argocd"] = "$2y$05$NcxsJQTR1mBO51j//Xr/MOH1d8T//ijqSUMYe3v.Inv2ZU73rUzze";
  c.user_groups["argocd"] = {"git", "registry"};
  return c;
}

std::string basic(std::string_view user, std::string_view pass) {
  return "Basic " + base64_encode(std::string(user) + ":" + std::string(pass));
}

TEST(Auth, ClassifiesRequestsIntoGroups) {
  EXPECT_EQ(classify(make("GET", "/v2/x/manifests/y", "")), Group::registry);
  EXPECT_EQ(classify(make("GET", "/git/h/r.git/info/refs", "")), Group::git);
  EXPECT_EQ(classify(make("GET", "/helm/h/index.yaml", "")), Group::git);
  EXPECT_EQ(classify(make("POST", "/api/v1/releases", "")), Group::admin);
  EXPECT_EQ(classify(make("GET", "/api/v1/releases", "")), Group::status);
  EXPECT_EQ(classify(make("POST", "/api/v1/git/webhook", "")), Group::webhook);
  EXPECT_EQ(classify(make("GET", "/", "")), Group::status);
}

TEST(Auth, KnowsLoopbackPeers) {
  EXPECT_TRUE(is_loopback_peer("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_peer("127.8.9.10:1"));
  EXPECT_TRUE(is_loopback_peer("::1:5000"));
  EXPECT_TRUE(is_loopback_peer("::ffff:127.0.0.1:80"));
  EXPECT_FALSE(is_loopback_peer("10.0.0.1:5000"));
  EXPECT_FALSE(is_loopback_peer("::ffff:10.0.0.1:80"));
  EXPECT_FALSE(is_loopback_peer("1127.0.0.1:80"));
  EXPECT_FALSE(is_loopback_peer(""));
}

TEST(Auth, AdminIsClosedToTheNetworkByDefault) {
  AuthConfig c;  // defaults
  GitConfig git;
  Authorizer a(c, git);
  auto r = a.check(make("POST", "/api/v1/releases", "10.1.2.3:4000"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_FALSE(a.check(make("POST", "/api/v1/releases", "127.0.0.1:4000")));
  EXPECT_FALSE(a.check(make("GET", "/v2/", "10.1.2.3:4000")));  // pulls stay open
  EXPECT_TRUE(a.check(make("POST", "/api/v1/git/webhook", "10.1.2.3:4000")));
  git.webhook_secret = "s";
  EXPECT_FALSE(a.check(make("POST", "/api/v1/git/webhook", "10.1.2.3:4000")));
}

TEST(Auth, EachCredentialUsesOnlyItsGroups) {
  auto c = config();
  GitConfig git;
  Authorizer a(c, git);
  const std::string net = "10.1.2.3:4000";
  EXPECT_EQ(a.check(make("GET", "/v2/", net))->status, 401);
  EXPECT_EQ(a.check(make("GET", "/v2/", net))->headers.get("WWW-Authenticate"),
            R"(Basic realm="outpost")");
  EXPECT_FALSE(a.check(make("GET", "/v2/", net, "Bearer nodes-token-0123456789")));
  EXPECT_FALSE(a.check(make("GET", "/v2/", net, basic("anyone", "nodes-token-0123456789"))));
  EXPECT_FALSE(a.check(make("GET", "/v2/", net, basic("argocd", "pw-argocd"))));
  EXPECT_FALSE(a.check(make("GET", "/v2/", net, basic("argocd", "pw-argocd"))));  // cached
  EXPECT_EQ(a.check(make("GET", "/v2/", net, basic("argocd", "wrong")))->status, 401);
  EXPECT_EQ(a.check(make("GET", "/v2/", net, "Bearer nodes-token-012345678X"))->status, 401);
  EXPECT_EQ(a.check(make("GET", "/v2/", net, "Bearer admin-token-0123456789"))->status, 403);
  EXPECT_EQ(
      a.check(make("GET", "/git/h/r/info/refs", net, "Bearer nodes-token-0123456789"))->status,
      403);
  EXPECT_FALSE(a.check(make("POST", "/api/v1/releases", net, "Bearer admin-token-0123456789")));
  EXPECT_EQ(a.check(make("POST", "/api/v1/releases", net, basic("argocd", "pw-argocd")))->status,
            403);
  EXPECT_FALSE(a.check(make("GET", "/api/v1/status", net)));  // status not required here
}

TEST(Auth, RegistryRefusalsAreOciErrors) {
  auto c = config();
  GitConfig git;
  Authorizer a(c, git);
  auto r = a.check(make("GET", "/v2/", "10.1.2.3:1"));
  ASSERT_TRUE(r);
  auto* body = std::get_if<std::string>(&r->body);
  ASSERT_TRUE(body);
  EXPECT_NE(body->find(R"("code":"UNAUTHORIZED")"), std::string::npos) << *body;
}

}  // namespace
}  // namespace outpost::http
