#include "git/pack_cache.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <future>

#include "../fakes/temp_dir.hpp"
#include "core/fd.hpp"

namespace outpost::git {
namespace {

// The whole body of a pack-cache response: a kept file, or a run's stream read to its end. An
// error when the stream failed (the response would be cut).
Result<std::string> drain(http::Response& r) {
  if (auto* f = std::get_if<http::FileBody>(&r.body)) {
    std::string out(f->length, '\0');
    if (::pread(f->fd.get(), out.data(), out.size(), static_cast<off_t>(f->offset)) !=
        static_cast<ssize_t>(out.size()))
      return fail(Errc::io, "short read");
    return out;
  }
  auto& s = std::get<http::StreamBody>(r.body);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = s.source->read_at(out.size(), buf);
    if (!n) return std::unexpected(n.error());
    if (*n > 0) {
      out.append(buf, *n);
      continue;
    }
    if (s.source->ended_at(out.size())) return out;
    std::promise<void> readable;
    s.source->notify_when_readable(out.size(), [&] { readable.set_value(); });
    readable.get_future().wait();
  }
}

// upload-pack stand-ins: a child that prints `body` (and exits with `status`), optionally
// waiting for a line on `gate` first, so a test decides when a run ends.
class PackCacheTest : public ::testing::Test {
 protected:
  std::function<Result<StartedPack>()> printer(std::string body, int status = 0, int gate = -1) {
    return [this, body, status, gate]() -> Result<StartedPack> {
      ++starts_;
      SpawnOptions o;
      o.argv = {"sh", "-c",
                std::string(gate >= 0 ? "read line; " : "") + "printf %s \"$0\"; exit " +
                    std::to_string(status),
                body};
      o.stdin_fd = gate;
      o.capture_stderr = false;
      auto p = Process::spawn(o);
      if (!p) return std::unexpected(p.error());
      return StartedPack{std::move(*p), [this] { ++ended_; }};
    };
  }
  std::string serve_all(const std::string& key, const std::string& body) {
    auto r = cache_->serve(key, printer(body));
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return {};
    auto b = drain(*r);
    EXPECT_TRUE(b) << b.error().message;
    return b ? *b : "";
  }

  testing::TempDir dir_;
  Metrics metrics_;
  FakeClock clock_;
  PackCacheConfig cfg_;
  std::atomic<int> starts_{0}, ended_{0};
  std::unique_ptr<PackCache> cache_;
  const std::string key_a_ = std::string(64, 'a'), key_b_ = std::string(64, 'b');
  void make() {
    cache_ = std::make_unique<PackCache>(cfg_, dir_.path() / "packs", metrics_, clock_);
  }
};

TEST_F(PackCacheTest, AResponseAskedForTwiceIsKeptAndTheThirdFetchIsAHit) {
  make();                                            // min_requests 2 (the default)
  EXPECT_EQ(serve_all(key_a_, "PACK-1"), "PACK-1");  // first sighting: run, not kept
  EXPECT_EQ(cache_->stats().entries, 0u);
  EXPECT_EQ(serve_all(key_a_, "PACK-1"), "PACK-1");  // second: run, kept
  EXPECT_EQ(cache_->stats().entries, 1u);
  auto hit = cache_->serve(key_a_, printer("never run"));
  ASSERT_TRUE(hit);
  ASSERT_TRUE(std::holds_alternative<http::FileBody>(hit->body));
  EXPECT_EQ(*drain(*hit), "PACK-1");
  EXPECT_EQ(starts_, 2);
  auto st = cache_->stats();
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.misses, 2u);
}

TEST_F(PackCacheTest, IdenticalFetchesWhileARunIsInProgressShareItAndItIsKept) {
  make();
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  UniqueFd read_end(gate[0]), write_end(gate[1]);
  auto first = cache_->serve(key_a_, printer("SHARED", 0, read_end.get()));
  ASSERT_TRUE(first);
  auto second = cache_->serve(key_a_, printer("not this one"));  // joins the run
  ASSERT_TRUE(second);
  ASSERT_EQ(::write(write_end.get(), "go\n", 3), 3);  // the run may end now
  EXPECT_EQ(*drain(*first), "SHARED");
  EXPECT_EQ(*drain(*second), "SHARED");
  EXPECT_EQ(starts_, 1);
  auto st = cache_->stats();
  EXPECT_EQ(st.joined, 1u);
  EXPECT_EQ(st.entries, 1u);  // shared by two clients: kept at its first sighting
}

TEST_F(PackCacheTest, AFailedRunCutsItsResponseAndIsNeverServedAgain) {
  cfg_.min_requests = 1;
  make();
  auto r = cache_->serve(key_a_, printer("PART", 3));
  ASSERT_TRUE(r);
  EXPECT_FALSE(drain(*r));  // cut: no clean end
  EXPECT_EQ(cache_->stats().entries, 0u);
  EXPECT_EQ(serve_all(key_a_, "WHOLE"), "WHOLE");  // a new run, not the failed one
  EXPECT_EQ(starts_, 2);
  EXPECT_EQ(ended_, 2);  // each run's slot was given back
}

TEST_F(PackCacheTest, EvictionTakesTheLeastRecentlyUsedAndTheTtlEndsAnEntry) {
  cfg_.min_requests = 1;
  make();
  serve_all(key_a_, "AAAA");
  clock_.advance(std::chrono::seconds(1));
  serve_all(key_b_, "BBBB");
  clock_.advance(std::chrono::seconds(1));
  ASSERT_TRUE(cache_->serve(key_a_, printer("x")));  // a hit: A is now the most recently used
  EXPECT_EQ(cache_->evict(4), 4u);                   // B goes
  EXPECT_EQ(cache_->stats().entries, 1u);
  auto a = cache_->serve(key_a_, printer("x"));
  ASSERT_TRUE(a);
  EXPECT_TRUE(std::holds_alternative<http::FileBody>(a->body));
  clock_.advance(cfg_.ttl + std::chrono::seconds(1));  // past its ttl: run again
  EXPECT_EQ(serve_all(key_a_, "NEW"), "NEW");
  EXPECT_EQ(starts_, 3);
}

TEST_F(PackCacheTest, EntriesSurviveARestartAndUnfinishedRunsDoNot) {
  cfg_.min_requests = 1;
  make();
  serve_all(key_a_, "KEPT");
  std::filesystem::create_directories(dir_.path() / "packs" / "tmp");
  {
    UniqueFd junk(::open((dir_.path() / "packs" / "tmp" / "half.1").c_str(),
                         O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  }
  cache_.reset();
  make();
  EXPECT_EQ(cache_->stats().entries, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "packs" / "tmp" / "half.1"));
  auto r = cache_->serve(key_a_, printer("x"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*drain(*r), "KEPT");
}

}  // namespace
}  // namespace outpost::git
