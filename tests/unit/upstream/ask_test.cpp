#include "upstream/ask.hpp"

#include <gtest/gtest.h>

#include "../fakes/fake_http.hpp"

namespace outpost::upstream {
namespace {

// A peer, a mirror and an origin; each hop's outcome is scripted, the verdict table is the test's.
struct AskTest : ::testing::Test {
  testing::FakeHttp http;
  std::atomic<bool> stopping{false};
  FakeClock clock;
  BreakerPolicy policy{std::chrono::seconds(1), std::chrono::seconds(8)};
  Source peer{{"http://peer.test", Role::peer}, policy, http, stopping, clock};
  Source mirror{{"http://hub.test", Role::mirror}, policy, http, stopping, clock};
  Source origin{{"https://origin.test", Role::origin}, policy, http, stopping, clock};
  std::vector<Hop> order{{&peer}, {&mirror}, {&origin}};
  std::map<const Source*, Result<int>> outcome;
  std::map<const Source*, Verdict> verdict;
  std::vector<const Source*> asked;

  Asked<int> run(Fallback fallback = Fallback::first_not_here) {
    return ask_in_order<int>(
        order,
        [&](const Hop& h) {
          asked.push_back(h.source);
          return outcome.at(h.source);
        },
        [&](const Hop& h, const Result<int>&) {
          return Judged{verdict.at(h.source), "why"};
        },
        "test", fallback);
  }
  void script(Source& s, Result<int> r, Verdict v) {
    outcome.insert_or_assign(&s, std::move(r));
    verdict.insert_or_assign(&s, v);
  }
};

TEST_F(AskTest, TheFirstAnswerEndsTheAskingAndClosesItsBreaker) {
  mirror.breaker().record_failure("earlier");
  script(peer, 404, Verdict::not_here);
  script(mirror, 200, Verdict::answer);
  script(origin, 200, Verdict::answer);
  auto a = run();
  EXPECT_EQ(a.outcome, 200);
  EXPECT_EQ(a.by, &mirror);
  EXPECT_EQ(asked, (std::vector<const Source*>{&peer, &mirror}));
  EXPECT_FALSE(mirror.breaker().is_open());
  EXPECT_FALSE(peer.breaker().is_open());  // "not here" is an answer: the peer is up
}

TEST_F(AskTest, DownAndDistrustedSourcesHaveTheirBreakersOpenedAndTheNextIsAsked) {
  script(peer, fail(Errc::upstream_unavailable, "refused"), Verdict::down);
  script(mirror, 200, Verdict::distrust);
  script(origin, 201, Verdict::answer);
  auto a = run();
  EXPECT_EQ(a.outcome, 201);
  EXPECT_EQ(a.by, &origin);
  EXPECT_TRUE(peer.breaker().is_open());
  EXPECT_TRUE(mirror.breaker().is_open());
  EXPECT_NE(mirror.breaker().state().last_error.find("does not verify: why"), std::string::npos);
}

TEST_F(AskTest, TheOriginIsNeverDistrustedItsOutcomeIsReturned) {
  script(peer, 404, Verdict::not_here);
  script(mirror, 404, Verdict::not_here);
  script(origin, 200, Verdict::distrust);
  auto a = run();
  EXPECT_EQ(a.outcome, 200);
  EXPECT_EQ(a.by, &origin);
  EXPECT_FALSE(origin.breaker().is_open());
}

TEST_F(AskTest, StopReturnsAtOnceAndTouchesNoBreaker) {
  peer.breaker().record_failure("earlier");
  script(peer, fail(Errc::cancelled, "shutdown"), Verdict::stop);
  auto a = run();
  EXPECT_EQ(a.outcome.error().code, Errc::cancelled);
  EXPECT_EQ(asked.size(), 1u);
  EXPECT_TRUE(peer.breaker().is_open());
}

TEST_F(AskTest, APassedSourceIsNotRecordedAndTheNextIsAsked) {
  mirror.breaker().record_failure("earlier");
  script(peer, 404, Verdict::not_here);
  script(mirror, fail(Errc::upstream_unavailable, "not asked"), Verdict::pass);
  script(origin, 200, Verdict::answer);
  EXPECT_EQ(run().by, &origin);
  EXPECT_TRUE(mirror.breaker().is_open());
}

TEST_F(AskTest, WithNoAnswerTheFirstNotHereOrTheLastOutcomeComesBack) {
  script(peer, 404, Verdict::not_here);
  script(mirror, 410, Verdict::not_here);
  script(origin, fail(Errc::upstream_unavailable, "down"), Verdict::down);
  auto first = run(Fallback::first_not_here);
  EXPECT_EQ(first.outcome, 404);
  EXPECT_EQ(first.by, &peer);
  auto last = run(Fallback::last);
  EXPECT_EQ(last.outcome.error().message, "down");
  EXPECT_EQ(last.by, &origin);
}

TEST_F(AskTest, AnEmptyOrderGivesTheNoneError) {
  order.clear();
  auto a = ask_in_order<int>(
      order, [](const Hop&) -> Result<int> { return 1; },
      [](const Hop&, const Result<int>&) { return Judged{Verdict::answer}; }, "test",
      Fallback::last, {Errc::needs_upstream, "nothing to ask"});
  EXPECT_EQ(a.outcome.error().code, Errc::needs_upstream);
  EXPECT_EQ(a.by, nullptr);
}

}  // namespace
}  // namespace outpost::upstream
