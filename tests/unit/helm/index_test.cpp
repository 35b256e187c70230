#include "helm/index.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "helm/repo.hpp"

namespace outpost::helm {
namespace {

constexpr const char* kIndex = R"(apiVersion: v1
entries:
  redis:
    - name: redis
      version: 18.1.0
      urls: [https://charts.example.com/stable/redis-18.1.0.tgz]
      digest: 6259e1605b741de2dcaef388cefd7a09e0261ee49f2580c4a033f06c701fba54
      deprecated: true
      annotations: {count: "3"}
    - name: redis
      version: 18.0.0
      urls: [old/redis-18.0.0.tgz]
  "../escape":
    - name: ../escape
      version: 1.0.0
      urls: [x.tgz]
  nourl:
    - name: nourl
      version: 1.0.0
)";

TEST(HelmIndex, RewritesEveryChartUrlToOutpostAndKeepsTheUpstreamOne) {
  auto idx = serve_index(kIndex, "https://charts.example.com/stable/index.yaml", {});
  ASSERT_TRUE(idx) << idx.error().message;
  auto doc = nlohmann::json::parse(idx->body);
  EXPECT_EQ(doc["entries"]["redis"][0]["urls"][0], "charts/redis-18.1.0.tgz");
  EXPECT_EQ(doc["entries"]["redis"][1]["urls"][0], "charts/redis-18.0.0.tgz");
  EXPECT_EQ(doc["entries"]["redis"][0]["deprecated"], true);           // types kept
  EXPECT_EQ(doc["entries"]["redis"][0]["annotations"]["count"], "3");  // quoted stays a string
  auto old = idx->charts.at("redis-18.0.0.tgz");
  EXPECT_EQ(old.url, "https://charts.example.com/stable/old/redis-18.0.0.tgz");
  EXPECT_FALSE(old.digest);
  EXPECT_TRUE(idx->charts.at("redis-18.1.0.tgz").digest);
}

TEST(HelmIndex, LeavesOutHostileOrUnusableEntries) {
  auto idx = serve_index(kIndex, "https://charts.example.com/stable/index.yaml", {});
  ASSERT_TRUE(idx);
  auto doc = nlohmann::json::parse(idx->body);
  EXPECT_FALSE(doc["entries"].contains("../escape"));
  EXPECT_FALSE(doc["entries"].contains("nourl"));
  EXPECT_EQ(idx->skipped.size(), 2u);
}

TEST(HelmIndex, AddsReleaseChartsTheIndexLacks) {
  ChartEntry extra{"app", "0.1.0", "", Digest::parse("sha256:" + std::string(64, 'a')).value(),
                   R"({"name":"app","version":"0.1.0","urls":["https://elsewhere/app.tgz"]})"};
  auto idx = serve_index("", "https://charts.example.com/index.yaml", {extra});
  ASSERT_TRUE(idx) << idx.error().message;
  auto doc = nlohmann::json::parse(idx->body);
  EXPECT_EQ(doc["entries"]["app"][0]["urls"][0], "charts/app-0.1.0.tgz");
  EXPECT_EQ(doc["entries"]["app"][0]["digest"], std::string(64, 'a'));
  EXPECT_TRUE(find_chart(*idx, "app", "0.1.0"));
  EXPECT_FALSE(find_chart(*idx, "app", "0.2.0"));
}

TEST(HelmIndex, RefusesWhatIsNotAnIndex) {
  EXPECT_FALSE(serve_index("just: text", "https://x/index.yaml", {}));
  EXPECT_FALSE(serve_index("entries: [1, 2", "https://x/index.yaml", {}));
}

HelmConfig helm_config() {
  HelmConfig c;
  c.upstreams = {{"charts.example.com", "https://charts.example.com", "", "", false, {}}};
  return c;
}

TEST(HelmPath, ParsesIndexAndChartUrls) {
  auto i = parse_helm_path("/helm/charts.example.com/stable/index.yaml", helm_config());
  ASSERT_TRUE(i);
  EXPECT_EQ(i->what, HelmFile::index);
  EXPECT_EQ(i->repo.key(), "charts.example.com/stable");
  auto root = parse_helm_path("/helm/charts.example.com/index.yaml", helm_config());
  ASSERT_TRUE(root);
  EXPECT_EQ(root->repo.path, "");
  auto c = parse_helm_path("/helm/charts.example.com/a/b/charts/redis-1.0.0+x.tgz", helm_config());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->what, HelmFile::chart);
  EXPECT_EQ(c->repo.path, "a/b");
  EXPECT_EQ(c->chart_file, "redis-1.0.0+x.tgz");
}

TEST(HelmPath, RefusesHostilePathsAndUnknownHosts) {
  for (const char* bad :
       {"/helm/evil.example/x/index.yaml", "/helm/charts.example.com/../x/index.yaml",
        "/helm/charts.example.com/-x/index.yaml", "/helm/charts.example.com/.git/index.yaml",
        "/helm/charts.example.com/x/charts/../../y.tgz", "/helm/charts.example.com/x/file.txt",
        "/helm/charts.example.com/x/charts/a;b.tgz", "/helm//index.yaml"}) {
    EXPECT_FALSE(parse_helm_path(bad, helm_config())) << bad;
  }
}

}  // namespace
}  // namespace outpost::helm

namespace outpost::helm {
namespace {

// Found by fuzz_helm_index: invalid UTF-8 in an upstream index made the JSON dump throw; it is
// now refused before yaml-cpp sees it (the last good copy stays served).
TEST(HelmIndex, InvalidUtf8IsRefusedNotThrown) {
  std::string yaml =
      "apiVersion: v1\nentries:\n  a:\n    - name: a\n      version: 1.0.0\n"
      "      urls: [a.tgz]\n      description: \"bad \xcf\xff byte\"\n";
  auto idx = serve_index(yaml, "https://charts.example.com/index.yaml", {});
  ASSERT_FALSE(idx);
  EXPECT_NE(idx.error().message.find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace outpost::helm
