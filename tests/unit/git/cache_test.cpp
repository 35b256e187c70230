#include "git/cache.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "../fakes/fake_http.hpp"
#include "../fakes/temp_dir.hpp"
#include "git/git_runner.hpp"

namespace outpost::git {
namespace {
namespace fs = std::filesystem;
using testing::answer;
using testing::FakeHttp;

// One upstream host, git.test, with one mirror (a hub) and its origin, both plain directories of
// bare repositories (git fetches from a path as from a URL). The HTTP probes sent before a first
// clone go to the fake seam, which answers for every source unless that source is switched down.
// The breakers run on a clock that moves only when told.
class GitCacheTest : public ::testing::Test {
 protected:
  GitCacheTest() : db_(dir_.path() / "meta.db") {
    cfg_.sync_interval = std::chrono::hours(1);  // no background sync unless a test asks
    cfg_.breaker_min_backoff = std::chrono::seconds(5);
    cfg_.breaker_max_backoff = std::chrono::seconds(40);
    cfg_.max_parallel_syncs = 2;
    HostUpstreamConfig up;
    up.host = "git.test";
    up.url = origin_.string();
    MirrorConfig hub;
    hub.url = hub_.string();
    up.mirrors = {hub};
    cfg_.upstreams = {up};
    http_.set(
        [this](const http::ClientRequest& r, http::BodySink* sink) -> Result<http::ClientResponse> {
          if ((hub_down_ && r.url.starts_with(hub_.string() + "/")) ||
              (origin_down_ && r.url.starts_with(origin_.string() + "/")))
            return fail(Errc::upstream_unavailable, "Couldn't connect to server");
          return answer(sink, 200, {}, "");
        });
    cache_ = std::make_unique<GitCache>(cfg_, dir_.path() / "data", db_, http_, metrics_,
                                        std::function<GateFn(const RepoId&)>{}, clock_);
  }
  ~GitCacheTest() override {
    cache_->stop();
    cache_.reset();
  }

  // git with a fixed identity and fixed dates, so the same commits made in two repositories are
  // the same objects (a hub's copy of the origin's history).
  std::string git(const std::vector<std::string>& args) {
    GitRun run;
    run.args = args;
    auto r = maker_.run(run);
    EXPECT_TRUE(r) << "git " << args.front() << ": " << r.error().message;
    std::string out = r ? *r : "";
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // A bare repository <root>/<path>.git whose main branch has `commits` commits (the first ones
  // of the same line of history whatever the root). Returns the tip.
  std::string make_repo(const fs::path& root, const std::string& path, int commits) {
    auto repo = (root / (path + ".git")).string();
    git({"init", "--bare", "--quiet", repo});
    git({"-C", repo, "symbolic-ref", "HEAD", "refs/heads/main"});
    std::string tip;
    for (int i = 1; i <= commits; ++i) {
      std::vector<std::string> args = {"-C",       repo, "commit-tree",
                                       kEmptyTree, "-m", path + " commit " + std::to_string(i)};
      if (!tip.empty()) args.insert(args.end(), {"-p", tip});
      tip = git(args);
    }
    git({"-C", repo, "update-ref", "refs/heads/main", tip});
    return tip;
  }

  std::shared_ptr<GitMirror> prepared(const RepoId& id) {
    auto m = cache_->prepare(id);
    EXPECT_TRUE(m) << m.error().message;
    return m ? *m : nullptr;
  }

  UpstreamHealth health() {
    auto all = cache_->health();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? UpstreamHealth{} : all.front();
  }

  static constexpr const char* kEmptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
  testing::TempDir dir_;
  const fs::path origin_ = dir_.path() / "origin";
  const fs::path hub_ = dir_.path() / "hub";
  const GitRunner maker_{{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
                          "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
                          "GIT_AUTHOR_DATE=1700000000 +0000", "GIT_COMMITTER_NAME=test",
                          "GIT_COMMITTER_EMAIL=test@example.com",
                          "GIT_COMMITTER_DATE=1700000000 +0000"}};
  const RepoId app_{"git.test", "org/app"};
  const RepoId tools_{"git.test", "org/tools"};
  MetaDb db_;
  Metrics metrics_;
  FakeClock clock_;
  FakeHttp http_;
  std::atomic<bool> hub_down_{false}, origin_down_{false};
  GitConfig cfg_;
  std::unique_ptr<GitCache> cache_;
};

TEST_F(GitCacheTest, AFirstPrepareClonesFromTheFirstSourceThatHasTheRepository) {
  make_repo(origin_, "org/app", 2);
  const auto hub_tip = make_repo(hub_, "org/app", 1);  // the hub's copy lags one commit behind
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->cloned());
  auto st = m->status();
  EXPECT_EQ(st.synced_from, hub_.string());
  EXPECT_EQ(st.failover, "");
  EXPECT_EQ(st.head, "refs/heads/main");
  EXPECT_EQ(st.head_commit, hub_tip);
  EXPECT_TRUE(st.last_error.empty()) << st.last_error;
  // The probe before the clone asked the hub alone: it answered.
  EXPECT_EQ(http_.count("GET", hub_.string() + "/org/app.git/info/refs"), 1u);
  EXPECT_EQ(http_.count("GET", origin_.string()), 0u);
  EXPECT_EQ(cache_->existing(app_), m);
}

TEST_F(GitCacheTest, AMirrorWithoutTheRepositoryIsPassedOverForTheOriginAndNamedInTheStatus) {
  const auto origin_tip = make_repo(origin_, "org/app", 2);
  fs::create_directories(hub_);  // the hub answers its probe but has no org/app
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  auto st = m->status();
  EXPECT_EQ(st.synced_from, origin_.string());
  EXPECT_EQ(st.head_commit, origin_tip);
  EXPECT_NE(st.failover.find("mirror " + hub_.string() + " failed"), std::string::npos)
      << st.failover;
  EXPECT_TRUE(st.last_error.empty()) << st.last_error;
  auto h = health();
  ASSERT_EQ(h.sources.size(), 2u);
  EXPECT_FALSE(h.sources[0].state.up);  // the hub's breaker opened
  EXPECT_TRUE(h.sources[1].state.up);
  EXPECT_TRUE(h.state.up);
  auto refs = m->info_refs_body(0);
  ASSERT_TRUE(refs) << refs.error().message;
  EXPECT_NE((*refs)->find(origin_tip + " refs/heads/main"), std::string::npos);
}

TEST_F(GitCacheTest, AMirrorWhoseProbeFailsIsSkippedAndTheOriginIsUsed) {
  const auto origin_tip = make_repo(origin_, "org/app", 2);
  make_repo(hub_, "org/app", 1);
  hub_down_ = true;
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  auto st = m->status();
  EXPECT_EQ(st.synced_from, origin_.string());
  EXPECT_EQ(st.head_commit, origin_tip);  // not the hub's older copy: the hub was not fetched from
  EXPECT_NE(st.failover.find("mirror " + hub_.string() + " is down"), std::string::npos)
      << st.failover;
  EXPECT_NE(st.failover.find("Couldn't connect to server"), std::string::npos) << st.failover;
  EXPECT_EQ(http_.count("GET", hub_.string()), 1u);
  EXPECT_EQ(http_.count("GET", origin_.string()), 1u);
  EXPECT_FALSE(health().sources[0].state.up);
}

TEST_F(GitCacheTest, AnOpenMirrorBreakerIsRetriedByABackgroundSyncOnceItsProbeIsDue) {
  make_repo(origin_, "org/app", 2);
  make_repo(origin_, "org/tools", 1);
  fs::create_directories(hub_);
  auto app = prepared(app_);  // the hub has nothing yet: its breaker opens, the origin serves
  ASSERT_TRUE(app);
  ASSERT_EQ(app->status().synced_from, origin_.string());

  // The hub catches up. Until its probe is due, it is passed over without being asked.
  make_repo(hub_, "org/app", 2);
  make_repo(hub_, "org/tools", 1);
  auto tools = prepared(tools_);
  ASSERT_TRUE(tools);
  EXPECT_EQ(tools->status().synced_from, origin_.string());
  EXPECT_NE(tools->status().failover.find("mirror " + hub_.string() + " is down"),
            std::string::npos)
      << tools->status().failover;
  EXPECT_EQ(http_.count("GET", hub_.string()), 1u);  // the first probe only

  clock_.advance(cfg_.breaker_min_backoff);  // the hub's probe is due
  const auto gen = app->sync_generation();
  ASSERT_TRUE(cache_->trigger_sync(app_));
  ASSERT_TRUE(app->wait_sync_after(gen, std::chrono::minutes(2)));
  auto st = app->status();
  EXPECT_EQ(st.synced_from, hub_.string());
  EXPECT_EQ(st.failover, "");
  EXPECT_TRUE(st.last_error.empty()) << st.last_error;
}

TEST_F(GitCacheTest, WithEverySourceDownAStaleCopyIsStillServedAndANeverClonedOneFails) {
  const auto tip = make_repo(origin_, "org/app", 1);
  make_repo(origin_, "org/tools", 1);
  make_repo(hub_, "org/app", 1);
  make_repo(hub_, "org/tools", 1);
  ASSERT_TRUE(prepared(app_));
  // A restart a day later, every source gone: the copy is due for a refresh it cannot get.
  cache_->stop();
  cache_.reset();
  ASSERT_TRUE(db_.put_git_repo({"git.test", "org/app", unix_now() - 86400, ""}));
  hub_down_ = origin_down_ = true;
  fs::rename(hub_, dir_.path() / "hub-gone");
  fs::rename(origin_, dir_.path() / "origin-gone");
  cache_ = std::make_unique<GitCache>(cfg_, dir_.path() / "data", db_, http_, metrics_,
                                      std::function<GateFn(const RepoId&)>{}, clock_);

  auto tools = cache_->prepare(tools_);
  ASSERT_FALSE(tools);
  EXPECT_EQ(tools.error().code, Errc::upstream_unavailable);
  EXPECT_NE(tools.error().message.find("git.test/org/tools"), std::string::npos)
      << tools.error().message;
  EXPECT_FALSE(health().state.up);  // both probes failed: every breaker is open
  EXPECT_EQ(cache_->existing(tools_), nullptr);

  const auto asked = http_.requests().size();
  auto app = cache_->prepare(app_);  // offline-first: served as it is, no refresh waited for
  ASSERT_TRUE(app) << app.error().message;
  EXPECT_GE(cache_->staleness(**app).value_or(0), 86400.0);
  EXPECT_FALSE((*app)->syncing());
  auto refs = (*app)->info_refs_body(0);
  ASSERT_TRUE(refs) << refs.error().message;
  EXPECT_NE((*refs)->find(tip + " refs/heads/main"), std::string::npos);
  EXPECT_TRUE(cache_->prepare(app_, http::Reach::local));

  auto still = cache_->prepare(tools_);  // fails fast: nothing is dialled while all are down
  ASSERT_FALSE(still);
  EXPECT_EQ(still.error().code, Errc::upstream_unavailable);
  EXPECT_NE(still.error().message.find("git.test/org/tools"), std::string::npos)
      << still.error().message;
  EXPECT_EQ(http_.requests().size(), asked);
}

TEST_F(GitCacheTest, LocalReachOnANeverClonedMirrorNeedsTheUpstreamAndContactsNothing) {
  make_repo(origin_, "org/app", 1);
  make_repo(hub_, "org/app", 1);
  auto m = cache_->prepare(app_, http::Reach::local);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::needs_upstream);
  EXPECT_TRUE(http_.requests().empty());
  EXPECT_EQ(cache_->existing(app_), nullptr);
  EXPECT_FALSE(fs::exists(mirror_dir(dir_.path() / "data", app_)));
}

}  // namespace
}  // namespace outpost::git

namespace outpost::git {
namespace {

// A trigger (a webhook) that arrives while a sync is running gets a sync of its own after it: the
// running one may have read upstream before the push. The running sync is held at a gate.
TEST_F(GitCacheTest, ATriggerDuringARunningSyncIsFollowedByAnotherSync) {
  make_repo(origin_, "org/app", 1);
  fs::create_directories(hub_);
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  std::atomic<bool> first{true};
  GitCache gated(
      cfg_, dir_.path() / "gated", db_, http_, metrics_,
      [&](const RepoId&) -> GateFn {
        return [&, released](const GitMirror&, const fs::path&, const std::string&) {
          if (first.exchange(false)) {
            entered.set_value();
            released.wait();
          }
          return GateResult{true, ""};
        };
      },
      clock_);
  std::thread clone([&] { EXPECT_TRUE(gated.prepare(app_)); });
  entered.get_future().wait();  // the first clone is inside its sync, held at the gate
  auto m = gated.existing(app_);
  ASSERT_EQ(m, nullptr);  // not cloned yet
  // The push lands upstream after the running sync fetched; then its webhook arrives.
  const auto pushed =
      git({"-C", (origin_ / "org/app.git").string(), "commit-tree", kEmptyTree, "-p",
           git({"-C", (origin_ / "org/app.git").string(), "rev-parse", "refs/heads/main"}), "-m",
           "pushed during the sync"});
  git({"-C", (origin_ / "org/app.git").string(), "update-ref", "refs/heads/main", pushed});
  ASSERT_TRUE(gated.trigger_sync(app_));
  release.set_value();
  clone.join();
  auto cloned = gated.prepare(app_, http::Reach::local);
  ASSERT_TRUE(cloned) << cloned.error().message;
  // The first sync ended with the old tip; the one the trigger asked for fetches the push.
  for (int i = 0; i < 600 && (*cloned)->status().head_commit != pushed; ++i)
    (*cloned)->wait_sync_after((*cloned)->sync_generation(), std::chrono::milliseconds(100));
  EXPECT_EQ((*cloned)->status().head_commit, pushed);
  gated.stop();
}

}  // namespace
}  // namespace outpost::git
