#include "registry/blob_fetch.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "../fakes/fake_http.hpp"
#include "../fakes/fake_site.hpp"

namespace outpost::registry {
namespace {
using testing::answer;
using testing::FakeHttp;
using testing::header;

class BlobFetcherTest : public ::testing::Test {
 protected:
  BlobFetcherTest()
      : up_cfg_{"up.test", "http://up.test", "", "", true, {}},
        upstream_(up_cfg_, reg_, site_.http, site_.metrics, stopping_, site_.clock),
        // Downloads run on the calling thread: fetch() returns once the download ended.
        fetcher_(
            site_.store, site_.db, site_.metrics, [](std::function<void()> task) { task(); },
            std::chrono::seconds(2), stopping_, site_.clock) {}

  Result<void> fetch() {
    auto f = fetcher_.fetch(upstream_, "lib/app", digest_);
    if (!f) return std::unexpected(f.error());
    return (*f)->wait_done();
  }

  const std::string body_ = std::string(1000, 'x') + "the end";
  const Digest digest_ = sha256_of(body_);
  testing::FakeSite site_;
  std::atomic<bool> stopping_{false};
  RegistryConfig reg_;
  RegistryUpstreamConfig up_cfg_;
  Upstream upstream_;
  BlobFetcher fetcher_;
};

TEST_F(BlobFetcherTest, RetriesAConnectionThatStalledBeforeTheFirstByte) {
  int calls = 0;
  site_.http.set(
      [&](const http::ClientRequest&, http::BodySink* sink) -> Result<http::ClientResponse> {
        if (++calls == 1) return fail(Errc::timeout, "no data from upstream for 2000 ms");
        return answer(sink, 200, {{"Content-Length", std::to_string(body_.size())}}, body_);
      });
  ASSERT_TRUE(fetch());
  EXPECT_TRUE(site_.store.contains(digest_));
  auto reqs = site_.http.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_FALSE(header(reqs[1], "Range"));  // nothing held: start from the beginning
}

TEST_F(BlobFetcherTest, RetriesARefusedConnection) {
  int calls = 0;
  site_.http.set(
      [&](const http::ClientRequest&, http::BodySink* sink) -> Result<http::ClientResponse> {
        if (++calls <= 2) return fail(Errc::upstream_unavailable, "Couldn't connect to server");
        return answer(sink, 200, {{"Content-Length", std::to_string(body_.size())}}, body_);
      });
  ASSERT_TRUE(fetch());
  EXPECT_EQ(calls, 3);
}

TEST_F(BlobFetcherTest, ResumesWithRangeFromTheBytesItHolds) {
  const std::size_t half = body_.size() / 2;
  int calls = 0;
  site_.http.set(
      [&](const http::ClientRequest& req, http::BodySink* sink) -> Result<http::ClientResponse> {
        if (++calls == 1)
          return answer(sink, 200, {{"Content-Length", std::to_string(body_.size())}}, body_, half);
        EXPECT_EQ(header(req, "Range"), "bytes=" + std::to_string(half) + "-");
        return answer(sink, 206,
                      {{"Content-Range", "bytes " + std::to_string(half) + "-" +
                                             std::to_string(body_.size() - 1) + "/" +
                                             std::to_string(body_.size())}},
                      body_.substr(half));
      });
  ASSERT_TRUE(fetch());
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(site_.store.contains(digest_));
}

TEST_F(BlobFetcherTest, GivesUpOnceTheBudgetPassesWithoutProgress) {
  site_.http.set([&](const http::ClientRequest&, http::BodySink*) -> Result<http::ClientResponse> {
    return fail(Errc::timeout, "no data from upstream for 2000 ms");
  });
  auto r = fetch();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("gave up"), std::string::npos) << r.error().message;
  // stall 2 s: budget 10 s; pauses 0.2 + 0.4 + 0.8 + 1.6 + 2 + 2 + 2 = 9 s, the next would pass it
  EXPECT_EQ(site_.http.requests().size(), 8u);
  EXPECT_FALSE(site_.store.contains(digest_));
}

TEST_F(BlobFetcherTest, AnAttemptThatMovesBytesStartsTheBudgetAgain) {
  // Every attempt brings 100 more bytes and then drops: 11 attempts, more than a budget without
  // progress would allow, and the blob completes.
  site_.http.set(
      [&](const http::ClientRequest& req, http::BodySink* sink) -> Result<http::ClientResponse> {
        site_.clock.advance(std::chrono::seconds(3));  // each attempt takes a while
        auto range = header(req, "Range");
        std::size_t from = range ? std::stoul(range->substr(6)) : 0;
        auto rest = body_.substr(from);
        std::vector<std::pair<std::string, std::string>> h;
        int status = 200;
        if (from > 0) {
          status = 206;
          h = {{"Content-Range", "bytes " + std::to_string(from) + "-" +
                                     std::to_string(body_.size() - 1) + "/" +
                                     std::to_string(body_.size())}};
        } else {
          h = {{"Content-Length", std::to_string(body_.size())}};
        }
        if (rest.size() > 100) return answer(sink, status, h, rest, 100);
        return answer(sink, status, h, rest);
      });
  ASSERT_TRUE(fetch());
  EXPECT_EQ(site_.http.requests().size(), 11u);
}

TEST_F(BlobFetcherTest, AWrongAnswerFailsAtOnce) {
  site_.http.set(
      [&](const http::ClientRequest&, http::BodySink* sink) -> Result<http::ClientResponse> {
        return answer(sink, 404, {}, R"({"errors":[{"code":"BLOB_UNKNOWN"}]})");
      });
  auto r = fetch();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(site_.http.requests().size(), 1u);
}

TEST_F(BlobFetcherTest, NeverPublishesBytesThatDoNotMatchTheDigest) {
  site_.http.set(
      [&](const http::ClientRequest&, http::BodySink* sink) -> Result<http::ClientResponse> {
        std::string lie(body_.size(), 'y');
        return answer(sink, 200, {{"Content-Length", std::to_string(lie.size())}}, lie);
      });
  auto r = fetch();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_mismatch);
  EXPECT_FALSE(site_.store.contains(digest_));
  EXPECT_EQ(site_.http.requests().size(), 1u);
}

}  // namespace
}  // namespace outpost::registry
