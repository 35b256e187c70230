#include "bundle/fanout.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../fakes/fake_site.hpp"
#include "cluster/cluster.hpp"
#include "config/config.hpp"
#include "registry/mirror.hpp"

namespace outpost::bundle {
namespace {

using testing::answer;

constexpr const char* kSelf = "http://10.0.0.1:8080";
constexpr const char* kUp = "http://10.0.0.2:8080";    // answers
constexpr const char* kGone = "http://10.0.0.3:8080";  // refuses connections

// Three replicas behind the fake seam: this one, a peer that knows shop v1 and one that is down.
class ReleaseFanoutTest : public ::testing::Test {
 protected:
  ReleaseFanoutTest() {
    ccfg_.advertise = kSelf;
    ccfg_.peers = {kSelf, kUp, kGone};
    auth_.tokens.push_back({"peers", std::string(20, 'p'), {AuthGroup::peer}});
    site_.http.set(
        [](const http::ClientRequest& r, http::BodySink* sink) -> Result<http::ClientResponse> {
          if (r.url.starts_with(kGone))
            return fail(Errc::upstream_unavailable, "connection refused");
          if (r.url == std::string(kUp) + "/api/v1/releases/shop/v1")
            return answer(sink, 200, {}, R"({"name":"shop","version":"v1","state":"ready"})");
          if (r.url == std::string(kUp) + "/api/v1/releases")
            return answer(sink, 200, {},
                          R"({"releases":[{"name":"shop","version":"v1","state":"ready"}]})");
          return answer(sink, 404, {}, "");
        });
    cluster_ = std::make_unique<cluster::Cluster>(ccfg_, auth_, site_.http, site_.clock);
    mirror_ = std::make_unique<registry::Mirror>(cfg_.registry, site_.store, site_.db, site_.http,
                                                 site_.metrics, site_.clock);
    jobs_ = std::make_unique<ReleaseJobs>(cfg_, site_.store, site_.db, site_.http, *mirror_,
                                          site_.clock);
    fanout_ = std::make_unique<ReleaseFanout>(*jobs_, *cluster_, site_.clock);
  }
  ~ReleaseFanoutTest() override {
    fanout_->stop();
    fanout_.reset();
    jobs_.reset();
    mirror_.reset();
  }

  testing::FakeSite site_;
  Config cfg_;
  ClusterConfig ccfg_;
  AuthConfig auth_;
  std::unique_ptr<cluster::Cluster> cluster_;
  std::unique_ptr<registry::Mirror> mirror_;
  std::unique_ptr<ReleaseJobs> jobs_;
  std::unique_ptr<ReleaseFanout> fanout_;
};

TEST_F(ReleaseFanoutTest, EveryReplicaIsListedThisOneFirstAndADownOneAsUnreachable) {
  ASSERT_TRUE(fanout_->enabled());
  // The down replica is found down by the first request sent to it.
  (void)fanout_->replicas("shop", "v1", jobs_->status("shop", "v1"));
  auto all = fanout_->replicas("shop", "v1", jobs_->status("shop", "v1"));
  ASSERT_EQ(all.size(), 3u) << all.dump();
  EXPECT_EQ(all[0]["replica"], kSelf);
  EXPECT_EQ(all[0]["state"], "unknown");  // never asked for here
  std::map<std::string, nlohmann::json> by;
  for (const auto& r : all) by[r["replica"]] = r;
  EXPECT_EQ(by[kUp]["state"], "ready");
  EXPECT_EQ(by[kGone]["state"], "unreachable");
  EXPECT_NE(by[kGone]["error"].get<std::string>().find("connection refused"), std::string::npos);
}

TEST_F(ReleaseFanoutTest, AReleaseUnknownHereIsNotFannedOut) {
  fanout_->after_start("nothing", "v0");  // not started here: no peer is asked to take it
  fanout_->stop();                        // waits for the fan-out to end
  for (const auto& r : site_.http.requests())
    EXPECT_EQ(r.url.find("/api/v1/releases/nothing"), std::string::npos) << r.url;
}

}  // namespace
}  // namespace outpost::bundle
