#include "upstream/source_list.hpp"

#include <gtest/gtest.h>

#include "../fakes/fake_http.hpp"

namespace outpost::upstream {
namespace {

// Two mirrors before an origin, breakers on a fake clock.
struct SourceListTest : ::testing::Test {
  testing::FakeHttp http;
  std::atomic<bool> stopping{false};
  FakeClock clock;
  BreakerPolicy policy{std::chrono::seconds(1), std::chrono::seconds(8)};
  SourceList list{SourceSpec{"https://origin.test", Role::mirror, false, "user", "pw"},
                  [] {
                    MirrorConfig a, b;
                    a.url = "http://hub-a.test";
                    b.url = "http://hub-b.test";
                    return std::vector<MirrorConfig>{a, b};
                  }(),
                  policy,
                  http,
                  stopping,
                  clock};
};

TEST_F(SourceListTest, MirrorsComeFirstInOrderAndTheOriginLastWithOnlyItsOwnCredentials) {
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.at(0).url(), "http://hub-a.test");
  EXPECT_EQ(list.at(1).url(), "http://hub-b.test");
  EXPECT_EQ(&list.origin(), &list.at(2));
  EXPECT_EQ(list.origin().spec().role, Role::origin);  // whatever the spec said
  EXPECT_TRUE(list.is_mirror(0));
  EXPECT_FALSE(list.is_mirror(2));
  EXPECT_FALSE(list.at(0).basic_authorization());
  EXPECT_TRUE(list.origin().basic_authorization());
  EXPECT_EQ(list.to_try(), (std::vector<std::size_t>{0, 1, 2}));
}

TEST_F(SourceListTest, OpenBreakersAreSkippedAndWithEveryOneOpenTheOriginIsStillTried) {
  list.at(0).breaker().record_failure("down");
  EXPECT_EQ(list.to_try(), (std::vector<std::size_t>{1, 2}));
  EXPECT_FALSE(list.down());
  list.at(1).breaker().record_failure("down");
  list.origin().breaker().record_failure("down");
  EXPECT_TRUE(list.down());
  EXPECT_EQ(list.to_try(), (std::vector<std::size_t>{2}));
}

TEST_F(SourceListTest, BackgroundWorkRetriesASourceWhoseProbeIsDue) {
  list.at(0).breaker().record_failure("down");
  EXPECT_EQ(list.to_try(SourceList::DueProbes::include), (std::vector<std::size_t>{1, 2}));
  EXPECT_FALSE(list.any_probe_due());
  clock.advance(policy.min_backoff);
  EXPECT_TRUE(list.any_probe_due());
  EXPECT_EQ(list.to_try(SourceList::DueProbes::include), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(list.to_try(), (std::vector<std::size_t>{1, 2}));  // request paths do not
}

TEST_F(SourceListTest, OnlyAMirrorCanBeDistrusted) {
  list.distrust(2, "origin", "wrong bytes");
  EXPECT_FALSE(list.origin().breaker().is_open());
  list.distrust(1, "hub-b", "wrong bytes");
  EXPECT_TRUE(list.at(1).breaker().is_open());
  EXPECT_NE(list.at(1).breaker().state().last_error.find("does not verify: wrong bytes"),
            std::string::npos);
}

TEST_F(SourceListTest, AProbeThatAnswersClosesTheBreakerAndOneThatFailsKeepsIt) {
  list.at(0).breaker().record_failure("down");
  list.at(1).breaker().record_failure("down");
  clock.advance(policy.min_backoff);
  list.probe_due(
      [](Source& s) -> std::optional<std::string> {
        if (s.url() == "http://hub-a.test") return std::nullopt;
        return "still down";
      },
      "test");
  EXPECT_FALSE(list.at(0).breaker().is_open());
  EXPECT_TRUE(list.at(1).breaker().is_open());
  EXPECT_EQ(list.at(1).breaker().state().last_error, "still down");
  auto h = list.health();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].role, "mirror");
  EXPECT_EQ(h[2].role, "origin");
  EXPECT_TRUE(h[0].state.up);
  EXPECT_FALSE(h[1].state.up);
}

TEST_F(SourceListTest, ADockerHubRateLimitIsKeptWithTheSourceThatStatedIt) {
  http::ClientResponse r;
  r.status = 200;
  r.headers.add("RateLimit-Limit", "100;w=21600");
  r.headers.add("ratelimit-remaining", "76;w=21600");
  r.headers.add("docker-ratelimit-source", "192.0.2.7");
  list.origin().observe(r);
  auto rl = list.origin().health().rate_limit;
  ASSERT_TRUE(rl);
  EXPECT_EQ(rl->limit, 100u);
  EXPECT_EQ(rl->remaining, 76u);
  EXPECT_EQ(rl->window_seconds, 21600u);
  EXPECT_EQ(rl->source, "192.0.2.7");
  EXPECT_FALSE(list.at(0).health().rate_limit);
  http::ClientResponse junk;  // unreadable values leave what was known
  junk.status = 200;
  junk.headers.add("ratelimit-limit", "lots");
  junk.headers.add("ratelimit-remaining", "-");
  list.origin().observe(junk);
  EXPECT_EQ(list.origin().health().rate_limit->remaining, 76u);
}

}  // namespace
}  // namespace outpost::upstream
