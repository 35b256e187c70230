#include "registry/route.hpp"
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace outpost::registry {

const std::string kDigest = "sha256:" + std::string(64, 'b');

RegistryConfig config() {
  return default_config().registry;
}

TEST(Route, NsParameterSelectsTheUpstream) {
  auto r = parse_route("/v2/library/nginx/manifests/latest", "ghcr.io", config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->upstream, "ghcr.io");
  EXPECT_EQ(r->repo, "library/nginx");
  EXPECT_EQ(r->kind, Kind::manifest);
  EXPECT_EQ(r->tag, "latest");
}

TEST(Route, ARepositoryMayHaveAComponentNamedLikeAnEndpoint) {
  auto tags = parse_route("/v2/ghcr.io/shop/manifests/tags/list", std::nullopt, config());
  ASSERT_TRUE(tags) << tags.error().message;
  EXPECT_EQ(tags->kind, Kind::tags);
  EXPECT_EQ(tags->repo, "shop/manifests");
  auto m = parse_route("/v2/ghcr.io/blobs/manifests/manifests/1.5.0", std::nullopt, config());
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->repo, "blobs/manifests");
  EXPECT_EQ(m->tag, "1.5.0");
  auto b = parse_route("/v2/ghcr.io/tags/blobs/blobs/" + kDigest, std::nullopt, config());
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kind, Kind::blob);
  EXPECT_EQ(b->repo, "tags/blobs");
  for (const auto* up :
       {"/v2/ghcr.io/a/manifests/blobs/uploads/", "/v2/ghcr.io/a/manifests/blobs/uploads",
        "/v2/ghcr.io/a/manifests/blobs/uploads/0f3c-uuid"}) {
    auto u = parse_route(up, std::nullopt, config());
    ASSERT_TRUE(u) << up;
    EXPECT_EQ(u->kind, Kind::upload) << up;
    EXPECT_EQ(u->repo, "a/manifests") << up;
  }
  EXPECT_FALSE(parse_route("/v2/ghcr.io/a/manifests/1.0/extra", std::nullopt, config()));
  EXPECT_FALSE(parse_route("/v2/ghcr.io/a/unknown/x", std::nullopt, config()));
}

TEST(Route, PathPrefixSelectsTheUpstream) {
  auto r = parse_route("/v2/quay.io/org/app/blobs/" + kDigest, std::nullopt, config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->upstream, "quay.io");
  EXPECT_EQ(r->repo, "org/app");
  EXPECT_EQ(r->kind, Kind::blob);
  EXPECT_EQ(r->digest->str(), kDigest);
}

TEST(Route, TheReleasesNamespaceIsLocalByPathOrNs) {
  auto r = parse_route("/v2/outpost.releases/shop/manifests/v2", std::nullopt, config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->upstream, kReleasesNamespace);
  EXPECT_EQ(r->repo, "shop");
  r = parse_route("/v2/shop/manifests/v2", "outpost.releases", config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->upstream, kReleasesNamespace);
  EXPECT_EQ(r->repo, "shop");
}

TEST(Route, DefaultUpstreamAndDockerHubNormalisation) {
  auto r = parse_route("/v2/nginx/manifests/1.25", std::nullopt, config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->upstream, "docker.io");
  EXPECT_EQ(r->repo, "library/nginx");
  r = parse_route("/v2/docker.io/nginx/manifests/1.25", std::nullopt, config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo, "library/nginx");
}

TEST(Route, UnknownRegistryIsRefusedNotDialled) {
  auto r = parse_route("/v2/x/manifests/latest", "evil.example.com", config());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, RouteError::Code::name_unknown);
  r = parse_route("/v2/evil.example.com/x/manifests/latest", std::nullopt, config());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, RouteError::Code::name_unknown);
  r = parse_route("/v2/localhost:5000/x/manifests/latest", std::nullopt, config());
  ASSERT_FALSE(r);
}

TEST(Route, MalformedPartsAreClassified) {
  struct Case {
    std::string path;
    RouteError::Code code;
  } cases[] = {
      {"/v2/../etc/manifests/latest", RouteError::Code::name_invalid},
      {"/v2/-x/manifests/latest", RouteError::Code::name_invalid},
      {"/v2/a/manifests/sha256:zz", RouteError::Code::digest_invalid},
      {"/v2/a/blobs/latest", RouteError::Code::digest_invalid},
      {"/v2/a/manifests/-bad", RouteError::Code::manifest_invalid},
      {"/v2/a/whatever", RouteError::Code::not_found},
      {"/v2/a/manifests/x/y", RouteError::Code::not_found},
  };
  for (const auto& c : cases) {
    auto r = parse_route(c.path, std::nullopt, config());
    ASSERT_FALSE(r) << c.path;
    EXPECT_EQ(r.error().code, c.code) << c.path;
  }
}

TEST(Route, TagsReferrersUploadsAndBase) {
  EXPECT_EQ(parse_route("/v2/", std::nullopt, config())->kind, Kind::base);
  EXPECT_EQ(parse_route("/v2/a/b/tags/list", std::nullopt, config())->kind, Kind::tags);
  EXPECT_EQ(parse_route("/v2/a/referrers/" + kDigest, std::nullopt, config())->kind,
            Kind::referrers);
  EXPECT_EQ(parse_route("/v2/a/blobs/uploads/", std::nullopt, config())->kind, Kind::upload);
}

}  // namespace outpost::registry

namespace outpost::registry {

TEST(Route, NsIsAppendedAsTheFirstOrANextQueryParameter) {
  EXPECT_EQ(with_ns("/v2/app/manifests/v1", "docker.io"), "/v2/app/manifests/v1?ns=docker.io");
  EXPECT_EQ(with_ns("/v2/app/tags/list?n=10", "ghcr.io"), "/v2/app/tags/list?n=10&ns=ghcr.io");
}

}  // namespace outpost::registry
