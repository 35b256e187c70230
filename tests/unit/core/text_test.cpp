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

TEST(YamlText, RefusesControlCharacters) {
  EXPECT_TRUE(valid_yaml_text("a: b\n\tc: \"d\"\r\n"));
  EXPECT_TRUE(
      valid_yaml_text("\xEF\xBB\xBF"
                      "a: caf\xc3\xa9"));
  EXPECT_FALSE(valid_yaml_text("a: \x02"));
  EXPECT_FALSE(valid_yaml_text("a: \x7f"));
  EXPECT_FALSE(valid_yaml_text("a: \xc2\x80"));  // C1 control
  EXPECT_FALSE(valid_yaml_text("a: \xff"));
  EXPECT_FALSE(valid_yaml_text(",aa"));  // yaml-cpp 0.7 never returns on this
  EXPECT_TRUE(valid_yaml_text("a: [b, c]"));
  EXPECT_TRUE(yaml_syntax_ok("a: [b, c]\n---\nd: &x 1\ne: *x\n"));
  EXPECT_FALSE(yaml_syntax_ok("a: !!str 1"));
  EXPECT_FALSE(yaml_syntax_ok("a: [b"));
}

}  // namespace
}  // namespace outpost
