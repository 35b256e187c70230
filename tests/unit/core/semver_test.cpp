#include "core/semver.hpp"

#include <gtest/gtest.h>

namespace outpost {
namespace {

bool in(std::string_view range, std::string_view tag) {
  auto r = SemVerRange::parse(range);
  EXPECT_TRUE(r) << range;
  auto v = SemVer::parse(tag);
  EXPECT_TRUE(v) << tag;
  return r && v && r->matches(*v);
}

TEST(SemVer, ReadsTagsTheWayGitOpsClientsDo) {
  auto v = SemVer::parse("v1.5.0_build.7");  // '_' stands for '+' in an OCI tag
  ASSERT_TRUE(v);
  EXPECT_EQ(v->str(), "1.5.0+build.7");
  EXPECT_EQ(SemVer::parse("1.5")->str(), "1.5.0");
  EXPECT_FALSE(SemVer::parse("stable"));
  EXPECT_FALSE(SemVer::parse("1.x"));
  EXPECT_FALSE(SemVer::parse("01.2.3"));
  EXPECT_FALSE(SemVer::parse("1.2.3.4"));
}

TEST(SemVer, OrdersByPrecedenceIgnoringBuildMetadata) {
  auto v = [](const char* s) { return *SemVer::parse(s); };
  EXPECT_LT(compare(v("1.4.0"), v("1.10.0")), 0);
  EXPECT_LT(compare(v("1.5.0-rc.1"), v("1.5.0")), 0);
  EXPECT_LT(compare(v("1.5.0-rc.2"), v("1.5.0-rc.10")), 0);
  EXPECT_LT(compare(v("1.5.0-alpha"), v("1.5.0-alpha.1")), 0);
  EXPECT_EQ(compare(v("1.5.0_a"), v("1.5.0_b")), 0);
}

TEST(SemVerRange, MatchesComparatorsAndShorthands) {
  EXPECT_TRUE(in(">=1.4.0 <2.0.0", "1.5.0"));
  EXPECT_FALSE(in(">=1.4.0 <2.0.0", "2.0.0"));
  EXPECT_TRUE(in(">=1.4.0, <2.0.0", "1.4.0"));
  EXPECT_TRUE(in(">= 1.4.0", "1.4.0"));
  EXPECT_TRUE(in("^1.4", "1.9.3"));
  EXPECT_FALSE(in("^1.4", "2.0.0"));
  EXPECT_FALSE(in("^0.2.3", "0.3.0"));
  EXPECT_TRUE(in("~1.4.2", "1.4.9"));
  EXPECT_FALSE(in("~1.4.2", "1.5.0"));
  EXPECT_TRUE(in("1.x", "1.99.0"));
  EXPECT_FALSE(in("1.x", "2.0.0"));
  EXPECT_TRUE(in("*", "0.0.1"));
  EXPECT_TRUE(in("1.2 - 1.4", "1.4.7"));
  EXPECT_FALSE(in("1.2 - 1.4", "1.5.0"));
  EXPECT_TRUE(in("<1.0.0 || >=3.0.0", "3.1.0"));
  EXPECT_FALSE(in("<1.0.0 || >=3.0.0", "2.0.0"));
  EXPECT_TRUE(in("!=1.5.0", "1.5.1"));
}

TEST(SemVerRange, LeavesPreReleasesOutUnlessTheRangeNamesOne) {
  EXPECT_FALSE(in(">=1.4.0 <2.0.0", "1.6.0-rc.1"));
  EXPECT_TRUE(in(">=1.6.0-rc.0 <2.0.0", "1.6.0-rc.1"));
  EXPECT_FALSE(in(">=1.6.0-rc.0 <2.0.0", "1.7.0-rc.1"));
}

TEST(SemVerRange, TellsRangesFromPlainTags) {
  EXPECT_FALSE(SemVerRange::looks_like_range("stable"));
  EXPECT_FALSE(SemVerRange::looks_like_range("1.4.0"));
  EXPECT_TRUE(SemVerRange::looks_like_range(">=1.4.0 <2.0.0"));
  EXPECT_TRUE(SemVerRange::looks_like_range("1.x"));
  EXPECT_TRUE(SemVerRange::looks_like_range("^1"));
  EXPECT_FALSE(SemVerRange::parse(">=banana"));
  EXPECT_FALSE(SemVerRange::parse("||"));
}

}  // namespace
}  // namespace outpost
