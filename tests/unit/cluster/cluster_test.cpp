#include "cluster/cluster.hpp"

#include <gtest/gtest.h>

#include <map>

#include "../fakes/fake_http.hpp"
#include "cluster/hrw.hpp"

namespace outpost::cluster {
namespace {

const std::string kSelf = "http://10.0.0.1:8080";
const std::string kP1 = "http://10.0.0.2:8080";
const std::string kP2 = "http://10.0.0.3:8080";

TEST(Hrw, RemovingAMemberMovesOnlyTheKeysItOwned) {
  const std::vector<std::string> three{kSelf, kP1, kP2}, two{kSelf, kP1};
  std::map<std::size_t, int> owned;
  for (int k = 0; k < 3000; ++k) {
    auto key = "sha256:" + std::to_string(k);
    auto before = three[hrw_order(three, key).front()];
    auto after = two[hrw_order(two, key).front()];
    if (before != kP2) {
      EXPECT_EQ(before, after) << key;
    }
    ++owned[hrw_order(three, key).front()];
  }
  for (const auto& [member, n] : owned) {  // an even spread: each near 1000 of 3000
    EXPECT_GT(n, 850) << three[member];
    EXPECT_LT(n, 1150) << three[member];
  }
}

TEST(Hrw, TheOrderIsTheSameInEveryProcess) {
  // Pinned values: a test tool (tests/tools/hrw.py) computes the same order.
  EXPECT_EQ(hrw_score("a", "b"), hrw_score("a", "b"));
  EXPECT_NE(hrw_score("a", "b"), hrw_score("b", "a"));
  EXPECT_EQ(hrw_score("http://127.0.0.1:1", "sha256:x"), 0x08eedbd0f95e6570ull);
}

class ClusterTest : public ::testing::Test {
 protected:
  ClusterTest() {
    cfg_.advertise = kSelf;
    cfg_.peers = {kSelf, kP1, kP2};  // its own URL may be listed: it is skipped
    AuthConfig::Token t{"peers", std::string(20, 'p'), {AuthGroup::peer}};
    auth_.tokens.push_back(t);
  }
  // A key whose rendezvous order is `want` (over self, p1, p2).
  std::string key_ordered(const std::vector<std::string>& want) {
    const std::vector<std::string> all{kSelf, kP1, kP2};
    for (int k = 0;; ++k) {
      auto key = "sha256:" + std::to_string(k);
      std::vector<std::string> got;
      for (auto i : hrw_order(all, key)) got.push_back(all[i]);
      if (got == want) return key;
    }
  }
  std::vector<std::pair<std::string, bool>> asks(Cluster& c, std::string_view key, Asking a) {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& p : c.ask_order(key, a)) out.emplace_back(p.peer.source->url(), p.held_only);
    return out;
  }

  ClusterConfig cfg_;
  AuthConfig auth_;
  testing::FakeHttp http_;
  FakeClock clock_;
};

TEST_F(ClusterTest, AClientsRequestGoesToTheOwnersAheadThenToTheOthersForWhatTheyHold) {
  Cluster c(cfg_, auth_, http_, clock_);
  auto key = key_ordered({kP1, kSelf, kP2});
  EXPECT_EQ(asks(c, key, Asking::owners_first),
            (std::vector<std::pair<std::string, bool>>{{kP1, false}, {kP2, true}}));
  EXPECT_EQ(asks(c, key, Asking::holders_only),
            (std::vector<std::pair<std::string, bool>>{{kP1, true}, {kP2, true}}));
  EXPECT_TRUE(asks(c, key, Asking::none).empty());
  EXPECT_FALSE(c.owns(key));
  EXPECT_TRUE(c.owns(key_ordered({kSelf, kP2, kP1})));
}

TEST_F(ClusterTest, ADownOwnerIsSkippedSoTheNextInOrderTakesOver) {
  Cluster c(cfg_, auth_, http_, clock_);
  auto key = key_ordered({kP1, kP2, kSelf});
  auto p1 = c.live_peers().front();
  ASSERT_EQ(p1.source->url(), kP1);
  http::ClientRequest req;
  req.url = "/v2/";
  EXPECT_FALSE(c.send(p1, req));  // nothing answers: its breaker opens
  EXPECT_EQ(asks(c, key, Asking::owners_first),
            (std::vector<std::pair<std::string, bool>>{{kP2, false}}));
}

TEST_F(ClusterTest, PeerRequestsCarryTheMarkerAndThePeerToken) {
  Cluster c(cfg_, auth_, http_, clock_);
  http_.set([](const http::ClientRequest&, http::BodySink* s) {
    return testing::answer(s, 200, {}, "ok");
  });
  http::ClientRequest req;
  req.url = "/v2/";
  ASSERT_TRUE(c.send(c.live_peers().front(), req, nullptr, true));
  auto seen = http_.requests().back();
  EXPECT_EQ(seen.url, kP1 + "/v2/");
  EXPECT_EQ(testing::header(seen, kPeerHeader), kSelf);
  EXPECT_EQ(testing::header(seen, kPeerLocalHeader), "1");
  EXPECT_EQ(testing::header(seen, "Authorization"), "Bearer " + std::string(20, 'p'));
}

TEST_F(ClusterTest, PeersDnsMembershipFollowsTheRecordsAndSurvivesAResolverFailure) {
  cfg_.peers.clear();
  cfg_.peers_dns = "outpost-peers:8080";
  std::vector<std::string> records{kSelf, kP1};
  bool failing = false;
  Cluster c(
      cfg_, auth_, http_, clock_,
      [&](const std::string& host, const std::string& port) -> Result<std::vector<std::string>> {
        EXPECT_EQ(host, "outpost-peers");
        EXPECT_EQ(port, "8080");
        if (failing) return fail(Errc::not_found, "no such host");
        return records;
      });
  auto urls = [&] {
    std::vector<std::string> out;
    for (const auto& p : c.live_peers()) out.push_back(p.source->url());
    return out;
  };
  EXPECT_EQ(urls(), std::vector<std::string>{kP1});
  records = {kSelf, kP2};  // p1 drops out of the records, p2 joins
  c.refresh_members();
  EXPECT_EQ(urls(), std::vector<std::string>{kP2});
  failing = true;
  c.refresh_members();
  EXPECT_EQ(urls(), std::vector<std::string>{kP2});
  auto health = c.health();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_FALSE(health[0].member);  // p1: kept for its counters
  EXPECT_TRUE(health[1].member);
}

}  // namespace
}  // namespace outpost::cluster
