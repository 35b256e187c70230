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
#include "git/pkt_line.hpp"

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
    up.url = origin_url_;
    MirrorConfig hub;
    hub.url = hub_url_;
    up.mirrors = {hub};
    cfg_.upstreams = {up};
    http_.set(
        [this](const http::ClientRequest& r, http::BodySink* sink) -> Result<http::ClientResponse> {
          if ((hub_down_ && r.url.starts_with(hub_url_ + "/")) ||
              (origin_down_ && r.url.starts_with(origin_url_ + "/")))
            return fail(Errc::upstream_unavailable, "Couldn't connect to server");
          return advertise(r, sink);
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

  // The source's side of a ref check (and of a probe): the repository's v0 advertisement, as git
  // http-backend sends it; 404 when the source has no such repository; 429 from a throttled hub.
  Result<http::ClientResponse> advertise(const http::ClientRequest& r, http::BodySink* sink) {
    constexpr std::string_view suffix = "/info/refs?service=git-upload-pack";
    if (!r.url.ends_with(suffix)) return answer(sink, 200, {}, "");
    if (hub_throttled_ && r.url.starts_with(hub_url_ + "/"))
      return answer(sink, 429, {{"Retry-After", "30"}}, "slow down");
    const std::string repo = r.url.substr(7, r.url.size() - suffix.size() - 7);  // file://
    if (!fs::exists(repo)) return answer(sink, 404, {}, "");
    auto refs = maker_.run({.args = {"upload-pack", "--stateless-rpc", "--advertise-refs", repo}});
    if (!refs) return answer(sink, 500, {}, refs.error().message);
    return answer(sink, 200, {{"Content-Type", "application/x-git-upload-pack-advertisement"}},
                  pkt_line("# service=git-upload-pack\n") + std::string(kFlush) + *refs);
  }

  // Git processes the cache started (the fake's own upload-pack left out).
  static std::uint64_t cache_spawns() {
    std::uint64_t n = 0;
    for (const auto& [command, count] : git_spawns())
      if (command != "upload-pack") n += count;
    return n;
  }

  // Runs one sync of `id` now, as the schedule would (or a push), and waits for it.
  void sync_now(const RepoId& id, GitCache::Trigger why) {
    auto m = cache_->existing(id);
    ASSERT_TRUE(m);
    const auto gen = m->sync_generation();
    ASSERT_TRUE(cache_->trigger_sync(id, why));
    ASSERT_TRUE(m->wait_sync_after(gen, std::chrono::minutes(2)));
  }

  std::shared_ptr<GitMirror> prepared(const RepoId& id) {
    auto m = cache_->prepare(id);
    EXPECT_TRUE(m) << m.error().message;
    return m ? *m : nullptr;
  }

  upstream::UpstreamHealth health() {
    auto all = cache_->health();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? upstream::UpstreamHealth{} : all.front();
  }

  static constexpr const char* kEmptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
  testing::TempDir dir_;
  const fs::path origin_ = dir_.path() / "origin";
  const fs::path hub_ = dir_.path() / "hub";
  // Sources are file:// URLs: git fetches from them, and the fake seam answers their requests.
  const std::string origin_url_ = "file://" + origin_.string();
  const std::string hub_url_ = "file://" + hub_.string();
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
  std::atomic<bool> hub_down_{false}, origin_down_{false}, hub_throttled_{false};
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
  EXPECT_EQ(st.synced_from, hub_url_);
  EXPECT_EQ(st.failover, "");
  EXPECT_EQ(st.head, "refs/heads/main");
  EXPECT_EQ(st.head_commit, hub_tip);
  EXPECT_TRUE(st.last_error.empty()) << st.last_error;
  // The probe before the clone asked the hub alone (it answered), then the sync read its refs.
  EXPECT_EQ(http_.count("GET", hub_url_ + "/org/app.git/info/refs"), 2u);
  EXPECT_EQ(http_.count("GET", origin_url_), 0u);
  EXPECT_EQ(cache_->existing(app_), m);
}

TEST_F(GitCacheTest, AMirrorWithoutTheRepositoryIsPassedOverForTheOriginAndNamedInTheStatus) {
  const auto origin_tip = make_repo(origin_, "org/app", 2);
  fs::create_directories(hub_);  // the hub answers its probe but has no org/app
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  auto st = m->status();
  EXPECT_EQ(st.synced_from, origin_url_);
  EXPECT_EQ(st.head_commit, origin_tip);
  EXPECT_NE(st.failover.find("mirror " + hub_url_ + " failed"), std::string::npos) << st.failover;
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
  EXPECT_EQ(st.synced_from, origin_url_);
  EXPECT_EQ(st.head_commit, origin_tip);  // not the hub's older copy: the hub was not fetched from
  EXPECT_NE(st.failover.find("mirror " + hub_url_ + " is down"), std::string::npos) << st.failover;
  EXPECT_NE(st.failover.find("Couldn't connect to server"), std::string::npos) << st.failover;
  EXPECT_EQ(http_.count("GET", hub_url_), 1u);     // its probe
  EXPECT_EQ(http_.count("GET", origin_url_), 2u);  // its probe, the sync's ref check
  EXPECT_FALSE(health().sources[0].state.up);
}

TEST_F(GitCacheTest, AnOpenMirrorBreakerIsRetriedByABackgroundSyncOnceItsProbeIsDue) {
  make_repo(origin_, "org/app", 2);
  make_repo(origin_, "org/tools", 1);
  fs::create_directories(hub_);
  auto app = prepared(app_);  // the hub has nothing yet: its breaker opens, the origin serves
  ASSERT_TRUE(app);
  ASSERT_EQ(app->status().synced_from, origin_url_);

  // The hub catches up. Until its probe is due, it is passed over without being asked.
  make_repo(hub_, "org/app", 2);
  make_repo(hub_, "org/tools", 1);
  auto tools = prepared(tools_);
  ASSERT_TRUE(tools);
  EXPECT_EQ(tools->status().synced_from, origin_url_);
  EXPECT_NE(tools->status().failover.find("mirror " + hub_url_ + " is down"), std::string::npos)
      << tools->status().failover;
  // The first probe and the first sync's ref check only.
  EXPECT_EQ(http_.count("GET", hub_url_), 2u);

  clock_.advance(cfg_.breaker_min_backoff);  // the hub's probe is due
  const auto gen = app->sync_generation();
  ASSERT_TRUE(cache_->trigger_sync(app_));
  ASSERT_TRUE(app->wait_sync_after(gen, std::chrono::minutes(2)));
  auto st = app->status();
  EXPECT_EQ(st.synced_from, hub_url_);
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
  ASSERT_TRUE(db_.put_git_repo({"git.test", "org/app", clock_.unix_now() - 86400, ""}));
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

TEST_F(GitCacheTest, AnUnchangedRepositoryCostsOneRequestAndNoGitProcess) {
  make_repo(origin_, "org/app", 2);
  make_repo(hub_, "org/app", 2);
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  const auto spawns = cache_spawns();
  const auto asked = http_.requests().size();
  for (int i = 0; i < 3; ++i) sync_now(app_, GitCache::Trigger::poll);
  EXPECT_EQ(cache_spawns(), spawns);
  EXPECT_EQ(http_.requests().size(), asked + 3);  // one ref check per sync
  EXPECT_EQ(http_.count("GET", hub_url_ + "/org/app.git/info/refs"), 5u);
  EXPECT_TRUE(m->status().last_error.empty()) << m->status().last_error;
}

TEST_F(GitCacheTest, AMovedRefIsFetchedAndTheNextUnchangedSyncIsCheapAgain) {
  make_repo(origin_, "org/app", 2);
  make_repo(hub_, "org/app", 2);
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  const auto tip = make_repo(hub_, "org/app", 3);  // a push to the hub's copy
  sync_now(app_, GitCache::Trigger::poll);
  EXPECT_EQ(m->status().head_commit, tip);
  const auto spawns = cache_spawns();
  sync_now(app_, GitCache::Trigger::poll);
  EXPECT_EQ(cache_spawns(), spawns);
  EXPECT_EQ(m->status().head_commit, tip);
}

TEST_F(GitCacheTest, ASourceAskingForAPauseIsLeftAloneByPollsButNotByPushes) {
  make_repo(origin_, "org/app", 2);
  make_repo(hub_, "org/app", 2);
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  hub_throttled_ = true;
  sync_now(app_, GitCache::Trigger::poll);  // the hub answers 429: the origin serves this sync
  EXPECT_EQ(m->status().synced_from, origin_url_);
  EXPECT_NE(m->status().failover.find("asked to be left alone"), std::string::npos)
      << m->status().failover;
  EXPECT_TRUE(health().sources[0].state.up);  // a pause is no outage
  const auto hub_asked = http_.count("GET", hub_url_);
  sync_now(app_, GitCache::Trigger::poll);  // polls pass the pausing hub over without asking it
  EXPECT_EQ(http_.count("GET", hub_url_), hub_asked);
  sync_now(app_, GitCache::Trigger::push);  // a push asks it anyway
  EXPECT_EQ(http_.count("GET", hub_url_), hub_asked + 1);
  hub_throttled_ = false;
  clock_.advance(std::chrono::seconds(30));  // the pause is over
  sync_now(app_, GitCache::Trigger::poll);
  EXPECT_EQ(m->status().synced_from, hub_url_);
}

TEST_F(GitCacheTest, AMirrorsAgeFollowsTheClock) {
  make_repo(origin_, "org/app", 1);
  make_repo(hub_, "org/app", 1);
  auto m = prepared(app_);
  ASSERT_TRUE(m);
  ASSERT_LT(*cache_->staleness(*m), 1.0);
  clock_.advance(std::chrono::hours(2));
  EXPECT_GE(*cache_->staleness(*m), 7200.0);
  EXPECT_GT(cache_->sync_lag({m}).behind, 3599.0);  // one interval (1 h) behind its schedule
}

TEST_F(GitCacheTest, AfterARestartAnUnchangedRepositoryIsCheckedAgainstItsOwnRefsNotFetched) {
  make_repo(origin_, "org/app", 2);
  make_repo(hub_, "org/app", 2);
  ASSERT_TRUE(prepared(app_));
  cache_->stop();
  cache_.reset();
  cache_ = std::make_unique<GitCache>(cfg_, dir_.path() / "data", db_, http_, metrics_,
                                      std::function<GateFn(const RepoId&)>{}, clock_);
  auto fetches = [] { return git_spawns()["fetch"]; };
  const auto before = fetches();
  const auto spawns = cache_spawns();
  sync_now(app_, GitCache::Trigger::poll);  // its first sync since the start: no fetch
  EXPECT_EQ(fetches(), before);
  EXPECT_EQ(cache_spawns(), spawns + 1);  // one for-each-ref of its own refs
  auto m = cache_->existing(app_);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status().head, "refs/heads/main");
  sync_now(app_, GitCache::Trigger::poll);  // then held: nothing at all
  EXPECT_EQ(cache_spawns(), spawns + 1);
  const auto tip = make_repo(hub_, "org/app", 3);  // a push: fetched
  sync_now(app_, GitCache::Trigger::poll);
  EXPECT_EQ(m->status().head_commit, tip);
  EXPECT_EQ(fetches(), before + 1);
}

}  // namespace
}  // namespace outpost::git
