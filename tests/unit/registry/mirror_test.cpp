#include "registry/mirror.hpp"

#include "registry/metric_defs.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "../fakes/fake_http.hpp"
#include "../fakes/fake_site.hpp"

namespace outpost::registry {
namespace {
using testing::answer;
using testing::FakeHttp;

constexpr auto kOci = "application/vnd.oci.image.manifest.v1+json";
constexpr auto kIndex = "application/vnd.oci.image.index.v1+json";
constexpr auto kDocker = "application/vnd.docker.distribution.manifest.v2+json";

// A small registry behind the fake seam: one repository "lib/app" with a manifest under tag v1,
// a tag list it sends whole whatever n and last say (like docker-registry 2.8), a referrers index
// for one subject and a 404 (no referrers API) for any other.
class MirrorTest : public ::testing::Test {
 protected:
  MirrorTest() {
    cfg_.default_upstream = "up.test";
    cfg_.tag_ttl = std::chrono::minutes(5);
    cfg_.revalidate = Revalidate::inline_;  // the background tests set it themselves
    cfg_.upstreams = {{"up.test", "http://up.test", "", "", true, {}}};
    site_.http.set(
        [this](const http::ClientRequest& r, http::BodySink* sink) { return serve(r, sink); });
    mirror_ = std::make_unique<Mirror>(cfg_, site_.store, site_.db, site_.http, site_.metrics,
                                       site_.clock);
  }
  ~MirrorTest() override { mirror_.reset(); }

  Result<http::ClientResponse> serve(const http::ClientRequest& r, http::BodySink* sink) {
    if (down_) return fail(Errc::upstream_unavailable, "Couldn't connect to server");
    const std::string base = "http://up.test/v2/lib/app";
    auto path = r.url.substr(0, r.url.find('?'));
    if (path == base + "/manifests/v1" && !deleted_) {
      const auto& m = moved_ ? moved_manifest_ : manifest_;
      return answer(sink, 200,
                    {{"Content-Type", kOci}, {"Docker-Content-Digest", sha256_of(m).str()}},
                    r.method == "HEAD" ? "" : m);
    }
    if (path == base + "/manifests/multi") {  // an index, or its amd64 image for a client without
      std::string accept;                     // index types (as docker-registry does for lists)
      for (const auto& [k, v] : r.headers)
        if (k == "Accept") accept = v;
      const bool index = accept.find("index") != std::string::npos;
      const auto& m = index ? index_ : docker_;
      return answer(sink, 200,
                    {{"Content-Type", index ? kIndex : kDocker},
                     {"Docker-Content-Digest", sha256_of(m).str()}},
                    r.method == "HEAD" ? "" : m);
    }
    if (path == base + "/tags/list")
      return answer(sink, 200, {{"Link", "</v2/lib/app/tags/list?n=3&last=c>; rel=\"next\""}},
                    R"({"name":"lib/app","tags":["c","a","b"]})");
    if (path == base + "/referrers/" + digest_.str()) return answer(sink, 200, {}, referrers_);
    return answer(sink, 404, {}, R"({"errors":[{"code":"NOT_FOUND"}]})");
  }

  Route manifest(std::string tag) {
    Route r;
    r.kind = Kind::manifest;
    r.upstream = "up.test";
    r.repo = "lib/app";
    r.tag = std::move(tag);
    return r;
  }
  Route route(Kind kind, Digest d) {
    Route r = manifest("");
    r.kind = kind;
    r.digest = std::move(d);
    return r;
  }

  const std::string manifest_ =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
      std::string(64, 'a') + R"(","size":2},"layers":[]})";
  const Digest digest_ = sha256_of(manifest_);
  const std::string moved_manifest_ =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
      std::string(64, 'b') + R"(","size":2},"layers":[]})";
  const std::string index_ =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
  const std::string docker_ =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:)" +
      std::string(64, 'c') + R"(","size":2},"layers":[]})";
  const std::string referrers_ =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
  testing::FakeSite site_;
  RegistryConfig cfg_;
  std::atomic<bool> down_{false};
  std::atomic<bool> deleted_{false};  // upstream answers 404 for v1
  std::atomic<bool> moved_{false};    // upstream's v1 is moved_manifest_
  std::unique_ptr<Mirror> mirror_;
};

TEST_F(MirrorTest, AFreshTagIsServedWithoutAskingUpstream) {
  auto first = mirror_->manifest(manifest("v1"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->digest, digest_);
  EXPECT_EQ(first->cache, CacheResult::miss);
  auto second = mirror_->manifest(manifest("v1"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->cache, CacheResult::hit);
  EXPECT_EQ(site_.http.requests().size(), 1u);
}

TEST_F(MirrorTest, ATagPastItsTtlIsRevalidatedWithAHeadOnly) {
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  auto again = mirror_->manifest(manifest("v1"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->cache, CacheResult::hit);
  EXPECT_EQ(site_.http.count("HEAD", "/manifests/v1"), 1u);
  EXPECT_EQ(site_.http.count("GET", "/manifests/v1"), 1u);  // the first fetch only
}

TEST_F(MirrorTest, AnUnreachableUpstreamServesTheLastKnownDigest) {
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  down_ = true;
  auto stale = mirror_->manifest(manifest("v1"));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->cache, CacheResult::stale);
  EXPECT_EQ(stale->digest, digest_);
}

TEST_F(MirrorTest, ATagDeletedUpstreamIsStillServedAndListedUntilUpstreamHasItAgain) {
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  deleted_ = true;
  auto kept = mirror_->manifest(manifest("v1"));
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(kept->digest, digest_);
  EXPECT_EQ(kept->cache, CacheResult::stale);
  auto listed = site_.db.deleted_tags();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].tag, "v1");
  EXPECT_EQ((*listed)[0].digest, digest_);
  deleted_ = false;  // back upstream: revalidated, and no longer listed
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  EXPECT_TRUE(site_.db.deleted_tags()->empty());
}

TEST_F(MirrorTest, WithoutKeepDeletedTagsADeletedTagIsNotFound) {
  cfg_.keep_deleted_tags = false;
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  deleted_ = true;
  auto gone = mirror_->manifest(manifest("v1"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  EXPECT_TRUE(site_.db.deleted_tags()->empty());
}

TEST_F(MirrorTest, LocalReachAnswersFromTheStoreAndNeverCallsUpstream) {
  auto cold = mirror_->manifest(manifest("v1"), http::Reach::local);
  ASSERT_FALSE(cold);
  EXPECT_EQ(cold.error().code, Errc::needs_upstream);
  EXPECT_EQ(site_.http.requests().size(), 0u);

  ASSERT_TRUE(mirror_->manifest(manifest("v1")));  // upstream reach: fetched
  auto n = site_.http.requests().size();
  EXPECT_TRUE(mirror_->manifest(manifest("v1"), http::Reach::local));
  EXPECT_TRUE(mirror_->manifest(route(Kind::manifest, digest_), http::Reach::local));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));  // due: only upstream can say
  auto due = mirror_->manifest(manifest("v1"), http::Reach::local);
  ASSERT_FALSE(due);
  EXPECT_EQ(due.error().code, Errc::needs_upstream);
  auto blob = mirror_->blob(route(Kind::blob, sha256_of("not here")), false, http::Reach::local);
  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code, Errc::needs_upstream);
  EXPECT_EQ(site_.http.requests().size(), n);
}

TEST_F(MirrorTest, TagsArePagedHereWhenUpstreamIgnoresNAndLast) {
  Route tags = manifest("");
  tags.kind = Kind::tags;
  std::vector<std::string> seen;
  std::string last;
  for (int page = 0; page < 10; ++page) {
    auto p = mirror_->tags(tags, 1, last);
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_LE(p->tags.size(), 1u);
    seen.insert(seen.end(), p->tags.begin(), p->tags.end());
    if (!p->more) break;
    last = p->tags.back();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  // One listing served every page: the first page and the one Link that added nothing.
  EXPECT_EQ(site_.http.count("GET", "/tags/list"), 2u);
  auto two = mirror_->tags(tags, 2, "a");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->tags, (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(two->more);
}

TEST_F(MirrorTest, TheTagListIsServedOfflineFromTheLastListing) {
  Route tags = manifest("");
  tags.kind = Kind::tags;
  ASSERT_TRUE(mirror_->tags(tags, std::nullopt, ""));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  down_ = true;
  auto offline = mirror_->tags(tags, std::nullopt, "");
  ASSERT_TRUE(offline);
  EXPECT_EQ(offline->tags, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(MirrorTest, ReferrersPassUpstreams404AndAreKeptForOffline) {
  auto none = mirror_->referrers(route(Kind::referrers, sha256_of("other")));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);  // clients then try the sha256-<hex> tag
  auto idx = mirror_->referrers(route(Kind::referrers, digest_));
  ASSERT_TRUE(idx);
  EXPECT_EQ(*idx, referrers_);
  down_ = true;
  (void)mirror_->manifest(route(Kind::manifest, sha256_of("x")));  // opens the breaker
  auto kept = mirror_->referrers(route(Kind::referrers, digest_));
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, referrers_);
  auto never = mirror_->referrers(route(Kind::referrers, sha256_of("never")));
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().code, Errc::not_found);
}

TEST_F(MirrorTest, BackgroundRevalidationServesTheCachedDigestAtOnceAndTheMovedTagNext) {
  cfg_.revalidate = Revalidate::background;
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  moved_ = true;
  auto at_once = mirror_->manifest(manifest("v1"), http::Reach::local);  // no upstream wait
  ASSERT_TRUE(at_once) << at_once.error().message;
  EXPECT_EQ(at_once->digest, digest_);
  mirror_->wait_revalidations();
  EXPECT_EQ(site_.http.count("HEAD", "/manifests/v1"), 1u);
  auto next = mirror_->manifest(manifest("v1"), http::Reach::local);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->digest, sha256_of(moved_manifest_));
  EXPECT_EQ(site_.http.count("GET", "/manifests/v1"), 2u);  // the first fetch and the moved one
}

TEST_F(MirrorTest, BackgroundRevalidationOfAnUnchangedTagIsOneHeadPerTtl) {
  cfg_.revalidate = Revalidate::background;
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  mirror_->wait_revalidations();
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));  // checked again: fresh
  mirror_->wait_revalidations();
  EXPECT_LE(site_.http.count("HEAD", "/manifests/v1"), 5u);
  EXPECT_GE(site_.http.count("HEAD", "/manifests/v1"), 1u);
  const auto heads = site_.http.count("HEAD", "/manifests/v1");
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  mirror_->wait_revalidations();
  EXPECT_EQ(site_.http.count("HEAD", "/manifests/v1"), heads);
}

TEST_F(MirrorTest, BackgroundRevalidationForgetsADeletedTagWithoutKeepDeletedTags) {
  cfg_.revalidate = Revalidate::background;
  cfg_.keep_deleted_tags = false;
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  deleted_ = true;
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));  // served at once, checked after
  mirror_->wait_revalidations();
  auto gone = mirror_->manifest(manifest("v1"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
}

TEST_F(MirrorTest, AClientThatAcceptsOnlyDockerManifestsIsNotServedAnOciOne) {
  ASSERT_TRUE(mirror_->manifest(manifest("v1")));  // cached as OCI
  Route docker_only = manifest("v1");
  docker_only.accept = ManifestAccept::parse(kDocker);
  auto refused = mirror_->manifest(docker_only);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::not_found);
  EXPECT_NE(refused.error().message.find("OCI manifest"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find(kOci), std::string::npos);
  Route by_digest = route(Kind::manifest, digest_);
  by_digest.accept = docker_only.accept;
  EXPECT_FALSE(mirror_->manifest(by_digest));
  by_digest.accept = ManifestAccept::parse(
      "application/vnd.docker.distribution.manifest.v2+json, "
      "application/vnd.oci.image.manifest.v1+json;q=0.5");
  EXPECT_TRUE(mirror_->manifest(by_digest));
}

TEST_F(MirrorTest, TagsResolvedForDifferentAcceptSetsKeepTheirOwnDigests) {
  Route any = manifest("multi");
  Route docker_only = manifest("multi");
  docker_only.accept = ManifestAccept::parse(std::string(kDocker) + ", application/json;q=0");
  auto index = mirror_->manifest(any);
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ(index->media_type, kIndex);
  auto image = mirror_->manifest(docker_only);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->media_type, kDocker);
  EXPECT_EQ(image->digest, sha256_of(docker_));
  down_ = true;  // offline, past the ttl: each client still gets its own form
  site_.clock.advance(cfg_.tag_ttl + std::chrono::seconds(1));
  auto again_any = mirror_->manifest(any);
  ASSERT_TRUE(again_any);
  EXPECT_EQ(again_any->digest, sha256_of(index_));
  auto again_docker = mirror_->manifest(docker_only);
  ASSERT_TRUE(again_docker);
  EXPECT_EQ(again_docker->digest, sha256_of(docker_));
  Route tags = manifest("");
  tags.kind = Kind::tags;
  auto listed = site_.db.tags("up.test", "lib/app");
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, (std::vector<std::string>{"multi"}));  // the Accept row is not a tag
}

}  // namespace
}  // namespace outpost::registry

namespace outpost::registry {
namespace {

// An upstream with a hub as its mirror; the hub serves one blob with a flipped byte.
class MirrorWithLyingHubTest : public ::testing::Test {
 protected:
  MirrorWithLyingHubTest() {
    cfg_.default_upstream = "up.test";
    RegistryUpstreamConfig u;
    u.name = "up.test";
    u.url = "http://up.test";
    u.insecure = true;
    MirrorConfig hub;
    hub.url = "http://hub.test";
    hub.insecure = true;
    u.mirrors = {hub};
    cfg_.upstreams = {u};
    site_.http.set([this](const http::ClientRequest& r, http::BodySink* sink) {
      if (r.url.find("/blobs/" + digest_.str()) == std::string::npos)
        return testing::answer(sink, 404, {}, "");
      std::string body = blob_;
      if (r.url.starts_with("http://hub.test/")) body[0] ^= 0x55;  // the lie
      return testing::answer(sink, 200, {{"Content-Length", std::to_string(body.size())}}, body);
    });
    mirror_ = std::make_unique<Mirror>(cfg_, site_.store, site_.db, site_.http, site_.metrics,
                                       site_.clock);
  }
  ~MirrorWithLyingHubTest() override { mirror_.reset(); }

  const std::string blob_ = std::string(100000, 'x') + "end";
  const Digest digest_ = sha256_of(blob_);
  testing::FakeSite site_;
  RegistryConfig cfg_;
  std::unique_ptr<Mirror> mirror_;
};

TEST_F(MirrorWithLyingHubTest, WrongBytesFromTheHubAreNeverPublishedAndTheOriginsAre) {
  Route r;
  r.kind = Kind::blob;
  r.upstream = "up.test";
  r.repo = "lib/app";
  r.digest = digest_;
  auto got = mirror_->ensure_blob(r);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(site_.store.contains(digest_));
  EXPECT_EQ(site_.http.count("GET", "http://hub.test/v2/lib/app/blobs/"), 1u);
  EXPECT_EQ(site_.http.count("GET", "http://up.test/v2/lib/app/blobs/"), 1u);
  auto health = mirror_->health();
  ASSERT_EQ(health[0].sources.size(), 2u);
  EXPECT_FALSE(health[0].sources[0].state.up);  // the hub is distrusted
  EXPECT_NE(health[0].sources[0].state.last_error.find("does not verify"), std::string::npos);
  EXPECT_EQ(health[0].sources[1].bytes, blob_.size());
  EXPECT_EQ(site_.metrics.counter(metric::registry_digest_mismatch_total)
                .value({{"upstream", "up.test"}}),
            1);
}

}  // namespace
}  // namespace outpost::registry
