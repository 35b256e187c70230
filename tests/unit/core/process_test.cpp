#include "core/process.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <thread>

namespace outpost {

TEST(Process, RunsArgvAndCollectsOutputAndStatus) {
  auto r = run_process({.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"}},
                       std::chrono::seconds(10));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(Process, ArgumentsAreNeverInterpretedByAShell) {
  auto marker = std::filesystem::temp_directory_path() / "outpost-process-test-pwned";
  std::filesystem::remove(marker);
  auto r = run_process({.argv = {"echo", "x; touch " + marker.string(), "$(id)", "`id`"}},
                       std::chrono::seconds(10));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "x; touch " + marker.string() + " $(id) `id`\n");
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(Process, TimeoutKillsTheWholeGroup) {
  auto start = std::chrono::steady_clock::now();
  auto r =
      run_process({.argv = {"sh", "-c", "sleep 30 & sleep 30"}}, std::chrono::milliseconds(300));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout);
  // (no wall-clock assertion: the point is that run_process returned at all)
  (void)start;
}

TEST(Process, MissingProgramIsAnError) {
  auto r = run_process({.argv = {"/nonexistent/outpost-no-such-binary"}}, std::chrono::seconds(5));
  ASSERT_TRUE(!r || r->status == 127);
}

TEST(Process, SecretsInOurEnvironmentDoNotReachChildren) {
  ::setenv("OUTPOST_TEST_SECRET", "hunter2", 1);
  auto r = run_process({.argv = {"env"}}, std::chrono::seconds(10));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out.find("hunter2"), std::string::npos);
  auto r2 =
      run_process({.argv = {"env"}, .env = {"GIT_PROTOCOL=version=2"}}, std::chrono::seconds(10));
  EXPECT_NE(r2->out.find("GIT_PROTOCOL=version=2"), std::string::npos);
}

}  // namespace outpost

namespace outpost {

TEST(Process, KillFromAnotherThreadEndsAWaitedChildAndNothingAfterItIsReaped) {
  auto p = Process::spawn({.argv = {"sleep", "30"}});
  ASSERT_TRUE(p);
  std::thread killer([&] { p->kill(); });  // before, during or after wait() begins
  EXPECT_EQ(p->wait(), 128 + SIGKILL);
  killer.join();
  p->kill();  // reaped: signals nothing (its pid may be another process's by now)
  EXPECT_EQ(p->wait(), 128 + SIGKILL);
}

}  // namespace outpost

namespace outpost {

TEST(Process, OutputPastItsBoundFailsTheRunInsteadOfBeingCut) {
  auto r = run_process({.argv = {"head", "-c", "100000", "/dev/zero"}}, std::chrono::seconds(10),
                       nullptr, 65536);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::too_large);
  auto whole = run_process({.argv = {"head", "-c", "65536", "/dev/zero"}}, std::chrono::seconds(10),
                           nullptr, 65536);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->out.size(), 65536u);
}

}  // namespace outpost
