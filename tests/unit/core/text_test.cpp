#include "core/text.hpp"

#include <gtest/gtest.h>

namespace outpost {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("image: nginx"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"));
}

TEST(Utf8, RefusesMalformedText) {
  for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "a\x80", "\xf0\x9f\x9a"}) {
    EXPECT_FALSE(valid_utf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace outpost
