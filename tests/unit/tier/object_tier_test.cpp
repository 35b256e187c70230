#include "tier/object_tier.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "../fakes/fake_site.hpp"

namespace outpost::tier {
namespace {

using testing::FakeSite;

struct ObjectTierTest : ::testing::Test {
  FakeSite site;
  S3Config cfg = [] {
    S3Config c;
    c.endpoint = "http://s3.test";
    c.bucket = "hub";
    c.access_key = "AK";
    c.secret_key = "SK";
    c.insecure = true;
    c.max_attempts = 1;
    return c;
  }();
  std::filesystem::path queue = site.dir.path() / "s3-queue";
  struct Drop final : http::BodySink {  // takes a body and keeps nothing
    bool on_start(int, const http::Headers&) override { return true; }
    bool on_data(std::span<const char>) override { return true; }
  } sink;

  Digest publish(std::string_view bytes) { return *site.store.put(bytes, std::nullopt); }
  static http::ClientResponse status(int s) {
    http::ClientResponse r;
    r.status = s;
    return r;
  }
};

TEST_F(ObjectTierTest, AQueuedUploadSurvivesARestartAndIsSentWhenS3Answers) {
  const auto d = publish("layer bytes");
  {
    site.http.set([](const http::ClientRequest&, http::BodySink*) {
      return Result<http::ClientResponse>(fail(Errc::upstream_unavailable, "S3 is down"));
    });
    ObjectTier t(cfg, site.http, site.store, queue, site.metrics, site.clock);
    t.upload_later(d);
    EXPECT_EQ(t.waiting(), 1u);
    EXPECT_TRUE(t.waiting_for(d));
  }  // a restart: the marker stays
  std::atomic<int> puts{0};
  site.http.set([&](const http::ClientRequest& r, http::BodySink*) {
    if (r.method == "PUT") {
      EXPECT_EQ(r.url, "http://s3.test/hub/blobs/sha256/" + std::string(d.hex()));
      ++puts;
    }
    return Result<http::ClientResponse>(status(200));
  });
  ObjectTier again(cfg, site.http, site.store, queue, site.metrics, site.clock);
  EXPECT_EQ(again.waiting(), 1u);
  again.start();
  for (int i = 0; i < 500 && again.waiting_for(d); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the uploader's own thread
  EXPECT_FALSE(again.waiting_for(d));
  EXPECT_EQ(puts, 1);
  again.stop();
}

TEST_F(ObjectTierTest, ABlobReadFromTheBucketIsNotQueuedAgainUnlessItsCopyWasCorrupt) {
  site.http.set([](const http::ClientRequest&, http::BodySink* sink) {
    auto r = status(200);
    if (sink) {
      sink->on_start(200, r.headers);
      std::string_view b = "bytes";
      sink->on_data(std::span(b.data(), b.size()));
    }
    return Result<http::ClientResponse>(r);
  });
  ObjectTier t(cfg, site.http, site.store, queue, site.metrics, site.clock);
  const auto d = sha256_of("bytes");
  ASSERT_TRUE(t.fetch(d, 0, sink));
  t.upload_later(d);
  EXPECT_FALSE(t.waiting_for(d));
  ASSERT_TRUE(t.fetch(d, 0, sink));
  t.corrupt(d);  // its bytes did not verify: the copy fetched elsewhere replaces it
  t.upload_later(d);
  EXPECT_TRUE(t.waiting_for(d));
}

TEST_F(ObjectTierTest, ABucketThatLacksABlobIsANotHereAnswer) {
  site.http.set([](const http::ClientRequest&, http::BodySink*) {
    auto r = status(404);
    r.body = "<Error><Code>NoSuchKey</Code></Error>";
    return Result<http::ClientResponse>(r);
  });
  ObjectTier t(cfg, site.http, site.store, queue, site.metrics, site.clock);
  auto r = t.fetch(sha256_of("x"), 0, sink);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace outpost::tier
