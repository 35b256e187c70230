#include "helm/cache.hpp"

#include <gtest/gtest.h>

#include "../fakes/fake_http.hpp"
#include "../fakes/temp_dir.hpp"
#include "helm/repo.hpp"

namespace outpost::helm {
namespace {
using testing::answer;
using testing::FakeHttp;

// A chart repository behind the fake seam: one chart listed with its digest, its archive, and a
// switch that takes the host down.
class HelmCacheTest : public ::testing::Test {
 protected:
  HelmCacheTest() : store_(dir_.path()), db_(dir_.path() / "meta.db") {
    cfg_.refresh_interval = std::chrono::hours(1);
    cfg_.stall_timeout = std::chrono::seconds(1);
    cfg_.upstreams = {{"charts.test", "http://charts.test", "", "", true, {}}};
    http_.set(
        [this](const http::ClientRequest& r, http::BodySink* sink) -> Result<http::ClientResponse> {
          if (down_) return fail(Errc::upstream_unavailable, "Couldn't connect to server");
          if (r.url == "http://charts.test/stable/index.yaml") return answer(sink, 200, {}, index_);
          if (r.url == "http://charts.test/stable/app-1.0.0.tgz") {
            if (stalls_ > 0) {
              --stalls_;
              return fail(Errc::timeout, "no data from upstream for 1000 ms");
            }
            return answer(sink, 200, {}, chart_);
          }
          return answer(sink, 404, {}, "");
        });
    cache_ = std::make_unique<HelmCache>(cfg_, dir_.path(), store_, db_, http_, metrics_, clock_);
    repo_ = parse_chart_repo("charts.test/stable", cfg_).value();
  }
  ~HelmCacheTest() override { cache_->stop(); }

  const std::string chart_ = "not really a tarball, but bytes with a digest";
  const std::string index_ =
      "apiVersion: v1\nentries:\n  app:\n    - name: app\n      version: 1.0.0\n"
      "      urls: [app-1.0.0.tgz]\n      digest: " +
      std::string(sha256_of(chart_).hex()) + "\n";
  testing::TempDir dir_;
  BlobStore store_;
  MetaDb db_;
  Metrics metrics_;
  FakeHttp http_;
  HelmConfig cfg_;
  FakeClock clock_;  // index ages and breakers move only when told
  std::atomic<bool> down_{false};
  std::atomic<int> stalls_{0};
  std::unique_ptr<HelmCache> cache_;
  ChartRepo repo_;
};

TEST_F(HelmCacheTest, AChartIsFetchedOnceVerifiedAndServedFromTheStore) {
  auto d = cache_->chart(repo_, "app-1.0.0.tgz");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, sha256_of(chart_));
  EXPECT_TRUE(store_.contains(*d));
  auto again = cache_->chart(repo_, "app-1.0.0.tgz", http::Reach::local);
  ASSERT_TRUE(again);
  EXPECT_EQ(http_.count("GET", "app-1.0.0.tgz"), 1u);
}

TEST_F(HelmCacheTest, AChartDownloadThatStallsBeforeItsFirstByteIsRetried) {
  stalls_ = 2;
  auto d = cache_->chart(repo_, "app-1.0.0.tgz");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(http_.count("GET", "app-1.0.0.tgz"), 3u);
}

TEST_F(HelmCacheTest, LocalReachNeverWaitsForTheUpstream) {
  auto cold = cache_->index(repo_, http::Reach::local);  // no copy yet: only upstream can answer
  ASSERT_FALSE(cold);
  EXPECT_EQ(cold.error().code, Errc::needs_upstream);
  EXPECT_EQ(http_.requests().size(), 0u);
  ASSERT_TRUE(cache_->index(repo_));
  EXPECT_TRUE(cache_->index(repo_, http::Reach::local));  // fresh copy: local
  auto chart = cache_->chart(repo_, "app-1.0.0.tgz", http::Reach::local);
  ASSERT_FALSE(chart);
  EXPECT_EQ(chart.error().code, Errc::needs_upstream);
}

TEST_F(HelmCacheTest, TheIndexIsServedFromItsCopyAfterARestartWithTheHostDown) {
  ASSERT_TRUE(cache_->index(repo_));
  cache_->stop();
  cache_.reset();
  down_ = true;
  cache_ = std::make_unique<HelmCache>(cfg_, dir_.path(), store_, db_, http_, metrics_);
  auto idx = cache_->index(repo_);
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_NE(idx->body->find("app-1.0.0.tgz"), std::string::npos);
}

TEST_F(HelmCacheTest, AnIndexIsFetchedAgainOnlyOnceItsAgeOnTheClockReachesTheInterval) {
  ASSERT_TRUE(cache_->index(repo_));
  clock_.advance(cfg_.refresh_interval - std::chrono::seconds(1));
  ASSERT_TRUE(cache_->index(repo_, http::Reach::local));  // still fresh: no upstream needed
  EXPECT_EQ(http_.count("GET", "index.yaml"), 1u);
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(cache_->index(repo_, http::Reach::local).error().code, Errc::needs_upstream);
  ASSERT_TRUE(cache_->index(repo_));  // due: refreshed within the request's budget
  EXPECT_EQ(http_.count("GET", "index.yaml"), 2u);
}

TEST_F(HelmCacheTest, ADownHostIsNotDialledAgainWhileItsBreakerIsOpen) {
  down_ = true;
  ASSERT_FALSE(cache_->index(repo_));
  const auto asked = http_.requests().size();
  ASSERT_FALSE(cache_->index(repo_));  // the breaker is open: nothing is dialled
  EXPECT_EQ(http_.requests().size(), asked);
  auto h = cache_->health();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_FALSE(h[0].state.up);
}

}  // namespace
}  // namespace outpost::helm
