#include <gtest/gtest.h>

#include "core/time.hpp"
#include "git/pkt_line.hpp"
#include "git/ref_advert.hpp"
#include "git/ref_check.hpp"
#include "http/retry_after.hpp"
#include "upstream/source.hpp"

namespace outpost::git {
namespace {

const std::string kA(40, 'a'), kB(40, 'b'), kC(40, 'c');

// What git http-backend sends for a repository with main, v1 (annotated) and a pull ref.
std::string advert_body(const std::string& main_tip = kA) {
  return pkt_line("# service=git-upload-pack\n") + std::string(kFlush) +
         pkt_line(main_tip + " HEAD" + std::string(1, '\0') +
                  "multi_ack symref=HEAD:refs/heads/main agent=git/2.39\n") +
         pkt_line(main_tip + " refs/heads/main\n") + pkt_line(kB + " refs/tags/v1\n") +
         pkt_line(kC + " refs/tags/v1^{}\n") + pkt_line(kC + " refs/pull/1/head\n") +
         std::string(kFlush);
}

TEST(RefAdvert, ReadsHeadsTagsAndHeadSymref) {
  auto a = parse_ref_advert(advert_body());
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->head, "refs/heads/main");
  EXPECT_EQ(a->refs,
            (std::map<std::string, std::string>{{"refs/heads/main", kA}, {"refs/tags/v1", kB}}));
}

TEST(RefAdvert, EmptyRepositoryHasNoRefs) {
  std::string zero(40, '0');
  auto body = pkt_line("# service=git-upload-pack\n") + std::string(kFlush) +
              pkt_line(zero + " capabilities^{}" + std::string(1, '\0') + "agent=x\n") +
              std::string(kFlush);
  auto a = parse_ref_advert(body);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->refs.empty());
}

TEST(RefAdvert, RejectsWhatIsNotAnAdvertisement) {
  auto good = advert_body();
  for (std::string bad : {std::string("ref: refs/heads/main\n"),          // dumb HTTP
                          pkt_line("version 2\n") + std::string(kFlush),  // a v2 answer
                          good.substr(0, good.size() - 10),               // cut short
                          good.substr(0, good.size() - 4)}) {             // no closing flush
    auto a = parse_ref_advert(bad);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::upstream_error);
  }
}

TEST(RefAdvert, AMovedTipIsADifferentAdvertisement) {
  EXPECT_EQ(*parse_ref_advert(advert_body()), *parse_ref_advert(advert_body()));
  EXPECT_NE(*parse_ref_advert(advert_body()), *parse_ref_advert(advert_body(kC)));
}

http::ClientResponse answer(int status, std::string body = {},
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::ClientResponse r;
  r.status = status;
  r.body = std::move(body);
  for (auto& [k, v] : headers) r.headers.add(k, v);
  return r;
}

TEST(RefCheck, OneGetOfTheV0Advertisement) {
  GitConfig cfg;
  std::atomic<bool> stop{false};
  std::vector<http::ClientRequest> sent;
  SendFn send = [&](http::ClientRequest req) -> Result<http::ClientResponse> {
    sent.push_back(req);
    return answer(200, advert_body(),
                  {{"Content-Type", "application/x-git-upload-pack-advertisement"}});
  };
  auto c = check_refs(send, "https://git.example/org/app.git", cfg, stop);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "GET");
  EXPECT_EQ(sent[0].url, "https://git.example/org/app.git/info/refs?service=git-upload-pack");
  for (const auto& [k, v] : sent[0].headers) EXPECT_NE(k, "Git-Protocol");
  ASSERT_TRUE(c->advert);
  EXPECT_EQ(c->advert->refs.size(), 2u);
  EXPECT_FALSE(c->pause);
}

TEST(RefCheck, OtherAnswersLeaveTheDecisionToAFullSync) {
  GitConfig cfg;
  std::atomic<bool> stop{false};
  for (auto resp : {answer(401), answer(404), answer(200, "ref: refs/heads/main\n"),
                    answer(200, "garbage",
                           {{"Content-Type", "application/x-git-upload-pack-advertisement"}})}) {
    SendFn send = [&](http::ClientRequest) -> Result<http::ClientResponse> { return resp; };
    auto c = check_refs(send, "https://git.example/r.git", cfg, stop);
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->advert) << resp.status;
  }
}

TEST(RefCheck, TransportFailuresAreTheError) {
  GitConfig cfg;
  std::atomic<bool> stop{false};
  SendFn send = [](http::ClientRequest) -> Result<http::ClientResponse> {
    return fail(Errc::timeout, "stalled");
  };
  auto c = check_refs(send, "https://git.example/r.git", cfg, stop);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::timeout);
  EXPECT_NE(c.error().message.find("unable to access 'https://git.example/r.git'"),
            std::string::npos);
}

TEST(RefCheck, A429AsksForAPause) {
  GitConfig cfg;
  std::atomic<bool> stop{false};
  SendFn send = [](http::ClientRequest) -> Result<http::ClientResponse> {
    return answer(429, "slow down", {{"Retry-After", "120"}});
  };
  auto c = check_refs(send, "https://git.example/r.git", cfg, stop);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pause, Millis(std::chrono::seconds(120)));
}

}  // namespace
}  // namespace outpost::git

namespace outpost::upstream {
namespace {

TEST(RetryAfter, SecondsDatesAndBounds) {
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);  // Tue, 14 Nov 2023
  auto with = [](int status, std::string v) {
    http::ClientResponse r;
    r.status = status;
    if (!v.empty()) r.headers.add("Retry-After", v);
    return r;
  };
  EXPECT_EQ(http::asked_pause(with(429, "30"), now), Millis(30'000));
  EXPECT_EQ(http::asked_pause(with(429, ""), now), Millis(60'000));      // no header: a minute
  EXPECT_EQ(http::asked_pause(with(429, "soon"), now), Millis(60'000));  // unreadable: a minute
  EXPECT_EQ(http::asked_pause(with(429, "0"), now), Millis(1'000));      // at least a second
  EXPECT_EQ(http::asked_pause(with(429, "999999"), now), Millis(3'600'000));  // at most an hour
  EXPECT_EQ(http::asked_pause(with(503, "Tue, 14 Nov 2023 22:13:27 GMT"), now), Millis(7'000));
  EXPECT_EQ(http::asked_pause(with(503, ""), now), std::nullopt);  // an outage, not a pause
  EXPECT_EQ(http::asked_pause(with(200, "30"), now), std::nullopt);
}

TEST(SourcePause, LastsWhatWasAskedOnItsClock) {
  FakeClock clock;
  std::atomic<bool> stop{false};
  struct NoHttp final : http::HttpClient {
    Result<http::ClientResponse> perform(const http::ClientRequest&, http::BodySink*) override {
      return fail(Errc::upstream_unavailable, "unused");
    }
  } http;
  Source s({"https://git.example"}, {}, http, stop, clock);
  EXPECT_EQ(s.paused(), Millis(0));
  s.pause_for(std::chrono::seconds(30));
  EXPECT_EQ(s.paused(), Millis(30'000));
  clock.advance(std::chrono::seconds(29));
  EXPECT_EQ(s.paused(), Millis(1'000));
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(s.paused(), Millis(0));
  EXPECT_FALSE(s.breaker().is_open());  // a pause is no outage
}

}  // namespace
}  // namespace outpost::upstream
