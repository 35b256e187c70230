#include "http/range.hpp"

#include <gtest/gtest.h>

namespace outpost::http {

TEST(Range, ResolvesTheThreeForms) {
  auto r = parse_range("bytes=0-9", 100);
  ASSERT_EQ(r.kind, RangeKind::satisfiable);
  EXPECT_EQ(r.range.first, 0u);
  EXPECT_EQ(r.range.length, 10u);
  r = parse_range("bytes=90-", 100);
  EXPECT_EQ(r.range.first, 90u);
  EXPECT_EQ(r.range.length, 10u);
  r = parse_range("bytes=-5", 100);
  EXPECT_EQ(r.range.first, 95u);
  EXPECT_EQ(r.range.length, 5u);
  r = parse_range("bytes=50-1000", 100);
  EXPECT_EQ(r.range.length, 50u);
}

TEST(Range, UnsatisfiableAndMalformed) {
  EXPECT_EQ(parse_range("bytes=100-", 100).kind, RangeKind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100).kind, RangeKind::unsatisfiable);
  for (auto bad : {"bytes=a-b", "bytes=5-1", "items=0-1", "bytes=0-1,5-6", "bytes=", "bytes=-",
                   "bytes=99999999999999999999999-"}) {
    EXPECT_EQ(parse_range(bad, 100).kind, RangeKind::none) << bad;
  }
  EXPECT_EQ(parse_range(std::nullopt, 100).kind, RangeKind::none);
}

}  // namespace outpost::http
