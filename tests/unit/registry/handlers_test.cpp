#include "registry/handlers.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../fakes/fake_http.hpp"
#include "../fakes/fake_site.hpp"

namespace outpost::registry {
namespace {
using testing::answer;
using testing::FakeHttp;

// Request in, response out: handle_v2 over a Mirror whose upstream is a fake registry with two
// tags that it lists unsorted and a referrers index for one subject.
class RegistryHandlerTest : public ::testing::Test {
 protected:
  RegistryHandlerTest() {
    cfg_.default_upstream = "up.test";
    cfg_.upstreams = {{"up.test", "http://up.test", "", "", true, {}}};
    site_.http.set([this](const http::ClientRequest& r, http::BodySink* sink) {
      auto path = r.url.substr(0, r.url.find('?'));
      if (path == "http://up.test/v2/lib/app/tags/list")
        return answer(sink, 200, {}, R"({"name":"lib/app","tags":["v2","v10","latest"]})");
      if (path == "http://up.test/v2/lib/app/referrers/" + subject_.str())
        return answer(sink, 200, {}, referrers_);
      return answer(sink, 404, {}, R"({"errors":[{"code":"NOT_FOUND"}]})");
    });
    mirror_ = std::make_unique<Mirror>(cfg_, site_.store, site_.db, site_.http, site_.metrics,
                                       site_.clock);
  }
  http::Response get(const std::string& target, http::Reach reach = http::Reach::upstream) {
    auto req = http::Request::make("GET", target).value();
    auto r = handle_v2(*mirror_, cfg_, req, reach);
    EXPECT_TRUE(r.has_value()) << target;
    return r ? std::move(*r) : http::Response::text(599, "");
  }
  static std::string body(const http::Response& r) { return std::get<std::string>(r.body); }
  static std::string code(const http::Response& r) {
    return nlohmann::json::parse(body(r))["errors"][0]["code"];
  }

  testing::FakeSite site_;
  RegistryConfig cfg_;
  const Digest subject_ = sha256_of("subject");
  const std::string referrers_ = R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" +
                                 std::string(64, 'a') +
                                 R"(","artifactType":"application/spdx+json"},{"digest":"sha256:)" +
                                 std::string(64, 'b') + R"(","artifactType":"text/sig"}]})";
  std::unique_ptr<Mirror> mirror_;
};

TEST_F(RegistryHandlerTest, AnInvalidReferenceIsAManifestUnknown404) {
  auto r = get("/v2/lib/app/manifests/.INVALID_MANIFEST_NAME");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code(r), "MANIFEST_UNKNOWN");
  EXPECT_EQ(site_.http.requests().size(), 0u);  // never asked upstream
}

TEST_F(RegistryHandlerTest, TagPagesAreSortedAndLinkToTheNext) {
  auto first = get("/v2/lib/app/tags/list?n=2");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(nlohmann::json::parse(body(first))["tags"],
            nlohmann::json::parse(R"(["latest","v10"])"));
  auto link = first.headers.get("Link");
  ASSERT_TRUE(link);
  EXPECT_NE(link->find("last=v10"), std::string::npos) << *link;
  auto second = get("/v2/lib/app/tags/list?n=2&last=v10");
  EXPECT_EQ(nlohmann::json::parse(body(second))["tags"], nlohmann::json::parse(R"(["v2"])"));
  EXPECT_FALSE(second.headers.get("Link"));
}

TEST_F(RegistryHandlerTest, ReferrersAreFilteredByArtifactType) {
  auto all = get("/v2/lib/app/referrers/" + subject_.str());
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(nlohmann::json::parse(body(all))["manifests"].size(), 2u);
  auto sboms =
      get("/v2/lib/app/referrers/" + subject_.str() + "?artifactType=application/spdx%2Bjson");
  EXPECT_EQ(nlohmann::json::parse(body(sboms))["manifests"].size(), 1u);
  EXPECT_EQ(sboms.headers.get("OCI-Filters-Applied"), "artifactType");
  auto none = get("/v2/lib/app/referrers/" + sha256_of("other").str());
  EXPECT_EQ(none.status, 404);
}

TEST_F(RegistryHandlerTest, LocalReachDefersWhatOnlyUpstreamCanAnswer) {
  auto req = http::Request::make("GET", "/v2/lib/app/manifests/v2").value();
  EXPECT_FALSE(handle_v2(*mirror_, cfg_, req, http::Reach::local));  // moves to the upstream pool
  auto base = http::Request::make("GET", "/v2/").value();
  auto r = handle_v2(*mirror_, cfg_, base, http::Reach::local);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(site_.http.requests().size(), 0u);
}

}  // namespace
}  // namespace outpost::registry
