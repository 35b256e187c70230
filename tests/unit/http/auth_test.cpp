#include "http/auth.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"
#include "git/config.hpp"

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
  c.require = {Group::registry, Group::git};
  c.tokens = {{"presync", "admin-token-0123456789", {Group::admin, Group::status}},
              {"nodes", "nodes-token-0123456789", {Group::registry}}};
  c.htpasswd["argocd"] = "$2y$05$NcxsJQTR1mBO51j//Xr/MOH1d8T//ijqSUMYe3v.Inv2ZU73rUzze";
  c.user_groups["argocd"] = {Group::git, Group::registry};
  return c;
}

// The groups `outpost serve`'s route table gives these paths.
Group group_of(const Request& r) {
  if (r.path.starts_with("/v2")) return Group::registry;
  if (r.path.starts_with("/git/") || r.path.starts_with("/helm/")) return Group::git;
  if (r.path == "/api/v1/git/webhook") return Group::webhook;
  return Access{Group::status, Group::admin}.group_for(r.method);
}

std::optional<Response> check(Authorizer& a, Request r) {
  return a.check(r, group_of(r));
}

// The peer headers a forger sends (cluster/cluster.hpp), in mixed case.
Request forged(std::string remote, std::optional<std::string> authorization = std::nullopt) {
  auto r = make("GET", "/v2/bench/large/manifests/latest", std::move(remote), authorization);
  r.headers.add("X-Outpost-Peer", "http://evil");
  r.headers.add("x-outpost-peer-keep", "sha256:" + std::string(64, 'a'));
  r.headers.add("X-Outpost-Peer-Local", "1");
  r.headers.add("Accept", "*/*");
  return r;
}

std::string basic(std::string_view user, std::string_view pass) {
  return "Basic " + base64_encode(std::string(user) + ":" + std::string(pass));
}

TEST(Auth, TheApiIsReadAsStatusAndChangedAsAdmin) {
  const Access api{Group::status, Group::admin};
  EXPECT_EQ(api.group_for("GET"), Group::status);
  EXPECT_EQ(api.group_for("HEAD"), Group::status);
  EXPECT_EQ(api.group_for("POST"), Group::admin);
  EXPECT_EQ(api.group_for("DELETE"), Group::admin);
  EXPECT_EQ(Access::only(Group::registry).group_for("POST"), Group::registry);
}

TEST(Auth, KnowsLoopbackPeers) {
  EXPECT_TRUE(is_loopback_peer("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_peer("::1:5000"));
  EXPECT_TRUE(is_loopback_peer("[::1]:5000"));
  // A service mesh's sidecar delivers every client from another 127/8 address (Istio: 127.0.0.6).
  EXPECT_FALSE(is_loopback_peer("127.0.0.6:15001"));
  EXPECT_FALSE(is_loopback_peer("127.8.9.10:1"));
  EXPECT_FALSE(is_loopback_peer("::ffff:127.0.0.6:80"));
  EXPECT_TRUE(is_loopback_peer("::ffff:127.0.0.1:80"));
  EXPECT_FALSE(is_loopback_peer("10.0.0.1:5000"));
  EXPECT_FALSE(is_loopback_peer("::ffff:10.0.0.1:80"));
  EXPECT_FALSE(is_loopback_peer("1127.0.0.1:80"));
  EXPECT_FALSE(is_loopback_peer(""));
}

TEST(Auth, AdminIsClosedToTheNetworkByDefault) {
  AuthConfig c;  // defaults
  GitConfig git;
  Authorizer a(c, git.webhook_secret, false);
  auto r = check(a, make("POST", "/api/v1/releases", "10.1.2.3:4000"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_FALSE(check(a, make("POST", "/api/v1/releases", "127.0.0.1:4000")));
  EXPECT_FALSE(check(a, make("GET", "/v2/", "10.1.2.3:4000")));  // pulls stay open
  EXPECT_TRUE(check(a, make("POST", "/api/v1/git/webhook", "10.1.2.3:4000")));
  Authorizer with_secret(c, "s", false);  // a webhook secret opens webhooks to the network
  EXPECT_FALSE(check(with_secret, make("POST", "/api/v1/git/webhook", "10.1.2.3:4000")));
}

TEST(Auth, EachCredentialUsesOnlyItsGroups) {
  auto c = config();
  GitConfig git;
  Authorizer a(c, git.webhook_secret, false);
  const std::string net = "10.1.2.3:4000";
  EXPECT_EQ(check(a, make("GET", "/v2/", net))->status, 401);
  EXPECT_EQ(check(a, make("GET", "/v2/", net))->headers.get("WWW-Authenticate"),
            R"(Basic realm="outpost")");
  EXPECT_FALSE(check(a, make("GET", "/v2/", net, "Bearer nodes-token-0123456789")));
  EXPECT_FALSE(check(a, make("GET", "/v2/", net, basic("anyone", "nodes-token-0123456789"))));
  EXPECT_FALSE(check(a, make("GET", "/v2/", net, basic("argocd", "pw-argocd"))));
  EXPECT_FALSE(check(a, make("GET", "/v2/", net, basic("argocd", "pw-argocd"))));  // cached
  EXPECT_EQ(check(a, make("GET", "/v2/", net, basic("argocd", "wrong")))->status, 401);
  EXPECT_EQ(check(a, make("GET", "/v2/", net, "Bearer nodes-token-012345678X"))->status, 401);
  EXPECT_EQ(check(a, make("GET", "/v2/", net, "Bearer admin-token-0123456789"))->status, 403);
  EXPECT_EQ(
      check(a, make("GET", "/git/h/r/info/refs", net, "Bearer nodes-token-0123456789"))->status,
      403);
  EXPECT_FALSE(check(a, make("POST", "/api/v1/releases", net, "Bearer admin-token-0123456789")));
  EXPECT_EQ(check(a, make("POST", "/api/v1/releases", net, basic("argocd", "pw-argocd")))->status,
            403);
  EXPECT_FALSE(check(a, make("GET", "/api/v1/status", net)));  // status not required here
}

TEST(Auth, RegistryRefusalsAreOciErrors) {
  auto c = config();
  GitConfig git;
  Authorizer a(c, git.webhook_secret, false);
  auto r = check(a, make("GET", "/v2/", "10.1.2.3:1"));
  ASSERT_TRUE(r);
  auto* body = std::get_if<std::string>(&r->body);
  ASSERT_TRUE(body);
  EXPECT_NE(body->find(R"("code":"UNAUTHORIZED")"), std::string::npos) << *body;
}

}  // namespace
}  // namespace outpost::http

namespace outpost::http {

TEST(Auth, PeerHeadersWithoutAClusterAreDropped) {
  auto c = config();
  c.require = {};
  c.tokens.push_back({"peers", "peer-token-0123456789", {Group::peer}});
  GitConfig git;
  Authorizer a(c, git.webhook_secret, false);
  auto r = forged("10.1.2.3:1", "Bearer peer-token-0123456789");
  EXPECT_FALSE(a.check(r, Group::registry));
  EXPECT_FALSE(r.headers.get("X-Outpost-Peer"));
  EXPECT_FALSE(r.headers.get("X-Outpost-Peer-Keep"));
  EXPECT_FALSE(r.headers.get("X-Outpost-Peer-Local"));
  EXPECT_EQ(r.headers.get("Accept"), "*/*");  // other headers stay
}

TEST(Auth, PeerHeadersNeedAPeerCredential) {
  auto c = config();
  c.require = {};  // the registry open, as by default
  c.tokens.push_back({"peers", "peer-token-0123456789", {Group::peer}});
  GitConfig git;
  Authorizer a(c, git.webhook_secret, true);
  struct Case {
    const char* what;
    std::optional<std::string> authorization;
    bool kept;
  };
  for (const auto& [what, authorization, kept] : std::vector<Case>{
           {"none", std::nullopt, false},
           {"a registry token", "Bearer nodes-token-0123456789", false},
           {"an admin token", "Bearer admin-token-0123456789", false},
           {"a wrong token", "Bearer peer-token-01234567890", false},
           {"the peer token", "Bearer peer-token-0123456789", true},
           {"the peer token as a password", basic("x", "peer-token-0123456789"), true},
       }) {
    // From loopback too: the address admits nobody as a peer.
    auto r = forged("127.0.0.1:9", authorization);
    EXPECT_FALSE(a.check(r, Group::registry)) << what;
    EXPECT_EQ(r.headers.get("X-Outpost-Peer").has_value(), kept) << what;
    EXPECT_EQ(r.headers.get("X-Outpost-Peer-Keep").has_value(), kept) << what;
    EXPECT_EQ(r.headers.get("X-Outpost-Peer-Local").has_value(), kept) << what;
  }
}

}  // namespace outpost::http
