#include "upstream/resumable.hpp"

#include <gtest/gtest.h>

#include "core/retry.hpp"

namespace outpost::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RetryBudget, PausesDoubleToTheStallTimeoutAndTheBudgetEnds) {
  FakeClock clock;
  RetryBudget b(seconds(2), clock);
  EXPECT_EQ(b.budget(), seconds(10));  // 4 stall timeouts, at least 10 s
  std::vector<Millis> pauses;
  while (auto p = b.next_pause()) {
    pauses.push_back(*p);
    clock.advance(*p);
  }
  ASSERT_GE(pauses.size(), 5u);
  EXPECT_EQ(pauses[0], milliseconds(200));
  EXPECT_EQ(pauses[1], milliseconds(400));
  EXPECT_EQ(pauses[2], milliseconds(800));
  EXPECT_EQ(pauses[3], milliseconds(1600));
  EXPECT_EQ(pauses[4], seconds(2));  // capped
  Millis total{0};
  for (auto p : pauses) total += p;
  EXPECT_LE(total, seconds(10));
}

TEST(RetryBudget, ProgressStartsTheCountAgain) {
  FakeClock clock;
  RetryBudget b(seconds(1), clock);
  clock.advance(seconds(9));
  b.progressed();
  auto p = b.next_pause();
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, milliseconds(200));
  clock.advance(seconds(9));
  EXPECT_TRUE(b.next_pause());
}

// A sink holding the body in memory; `total` is what a complete body has.
class MemorySink final : public ResumableSink {
 public:
  explicit MemorySink(std::size_t total) : total_(total) {}
  bool on_start(int, const http::Headers&) override { return true; }
  bool on_data(std::span<const char> b) override {
    bytes.append(b.data(), b.size());
    return true;
  }
  std::uint64_t held() const override { return bytes.size(); }
  void begin_attempt() override {}
  std::optional<Error> rejected() const override { return std::nullopt; }
  bool complete() const override { return bytes.size() == total_; }
  std::string bytes;

 private:
  std::size_t total_;
};

// A transfer cut after every 3 bytes resumes from what it holds each time, and each attempt
// that moved bytes restarts the budget, however many cuts there are.
TEST(FetchResumable, ACutTransferResumesFromTheBytesHeld) {
  const std::string body = "0123456789abcdefghij";
  FakeClock clock;
  RetryBudget retry(seconds(1), clock);
  MemorySink sink(body.size());
  std::atomic<bool> cancel{false};
  std::vector<std::uint64_t> offsets;
  auto attempt = [&](std::uint64_t offset) -> Result<http::ClientResponse> {
    offsets.push_back(offset);
    auto part = body.substr(offset, 3);
    sink.on_data(std::span<const char>(part.data(), part.size()));
    if (offset + part.size() < body.size()) return fail(Errc::upstream_unavailable, "reset");
    return http::ClientResponse{206, {}, {}};
  };
  auto r = fetch_resumable(attempt, sink, retry, cancel);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(sink.bytes, body);
  EXPECT_EQ(offsets, (std::vector<std::uint64_t>{0, 3, 6, 9, 12, 15, 18}));
  EXPECT_EQ(r->attempts, 7);
}

// How many attempts fetch_resumable makes when every attempt gets `answer`, and whether it failed.
std::pair<int, bool> attempts_with(const Result<http::ClientResponse>& answer) {
  FakeClock clock;
  std::atomic<bool> cancel{false};
  RetryBudget retry(seconds(1), clock);
  MemorySink sink(10);
  int calls = 0;
  auto r = fetch_resumable(
      [&](std::uint64_t) {
        ++calls;
        return answer;
      },
      sink, retry, cancel);
  return {calls, !r};
}

TEST(FetchResumable, ANotFoundEndsItAndASpentBudgetEndsIt) {
  {
    auto [calls, failed] = attempts_with(http::ClientResponse{404, {}, {}});
    EXPECT_TRUE(failed);
    EXPECT_EQ(calls, 1);  // a 4xx is an answer, never retried
  }
  {
    auto [calls, failed] = attempts_with(fail(Errc::upstream_unavailable, "refused"));
    ASSERT_TRUE(failed);
    EXPECT_GT(calls, 3);   // retried within the budget…
    EXPECT_LT(calls, 20);  // …then given up
  }
}

}  // namespace
}  // namespace outpost::upstream
