#include "cli/progress_bar.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace outpost::cli {
namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, f)) s.append(buf, n);
  return s;
}

TEST(ProgressBar, RendersPercentBytesRateAndTimeLeft) {
  auto line = ProgressBar::render("pulling", 512 << 10, 1 << 20, 256 << 10, 100);
  EXPECT_NE(line.find("pulling ["), std::string::npos) << line;
  EXPECT_NE(line.find(" 50%"), std::string::npos) << line;
  EXPECT_NE(line.find("512.0 KiB/1.0 MiB"), std::string::npos) << line;
  EXPECT_NE(line.find("256.0 KiB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("2s left"), std::string::npos) << line;
  EXPECT_LE(line.size(), 100u);
}

TEST(ProgressBar, UnknownTotalShowsBytesOnly) {
  auto line = ProgressBar::render("x", 2048, 0, 0, 80);
  EXPECT_EQ(line, "x  2.0 KiB");
}

TEST(ProgressBar, NeverOverflowsANarrowTerminal) {
  auto line = ProgressBar::render(std::string(70, 'l'), 1, 2, 1e6, 60);
  EXPECT_LE(line.size(), 60u);
}

TEST(ProgressBar, PlainLinesOncePerTenthWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar("fetching", Render::lines, f);
    for (std::uint64_t i = 0; i <= 1000; ++i) bar.bytes(i, 1000);
    bar.note("verified sha256:abc");
  }
  auto out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 12) << out;  // 0%..100% + the note
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("  verified sha256:abc\n"), std::string::npos);
}

TEST(ProgressBar, RedrawsInPlaceOnATerminal) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar("fetching", Render::bar, f);
    bar.bytes(10, 100);
    bar.note("a step");
  }
  auto out = read_all(f);
  std::fclose(f);
  EXPECT_NE(out.find("\r\033[K"), std::string::npos);
  EXPECT_NE(out.find("  a step\n"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');
}

TEST(HumanBytes, PicksTheUnit) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(3ull << 30), "3.0 GiB");
}

}  // namespace
}  // namespace outpost::cli
