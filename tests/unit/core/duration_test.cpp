#include "core/duration.hpp"

#include <gtest/gtest.h>

namespace outpost {

TEST(Duration, ParsesUnitsAndSums) {
  EXPECT_EQ(*parse_duration("500ms"), Millis(500));
  EXPECT_EQ(*parse_duration("30s"), Millis(30'000));
  EXPECT_EQ(*parse_duration("5m"), Millis(300'000));
  EXPECT_EQ(*parse_duration("1h30m"), Millis(5'400'000));
}

TEST(Duration, RejectsMissingUnitAndGarbage) {
  for (auto bad : {"", "5", "m", "5x", "-5s", "5 s"}) EXPECT_FALSE(parse_duration(bad)) << bad;
}

}  // namespace outpost
