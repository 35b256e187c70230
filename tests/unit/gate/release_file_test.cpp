#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gate/gate.hpp"

namespace outpost::gate {
namespace {

TEST(ReleaseFile, ReadsSourceNameAndVersion) {
  auto r = parse_release_file("source: oci://reg.example/shop:v2\nname: shop\nversion: v2\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->source, "oci://reg.example/shop:v2");
  EXPECT_EQ(r->name, "shop");
  EXPECT_EQ(r->version, "v2");
}

TEST(ReleaseFile, RefusesMissingFieldsAndNonMappings) {
  EXPECT_FALSE(parse_release_file("name: shop\nversion: v2\n"));
  EXPECT_FALSE(parse_release_file("- a\n- b\n"));
  EXPECT_FALSE(parse_release_file("just text"));
}

TEST(ReleaseFile, RefusesInvalidUtf8AndControlCharacters) {
  EXPECT_FALSE(parse_release_file("name: \xff\xfe\nsource: x\nversion: v\n"));
  EXPECT_FALSE(parse_release_file(std::string("name: a\x01\nsource: x\nversion: v\n")));
}

// Every input fuzzing found to hang or crash yaml-cpp is refused before it reaches yaml-cpp, as
// for every other parser of YAML from outside (a hostile commit must not stall the gate).
TEST(ReleaseFile, FuzzRegressionsAreRefusedWithoutHanging) {
  namespace fs = std::filesystem;
  int seen = 0;
  for (const auto& dir : {"k8s_images", "config", "helm_index"}) {
    for (const auto& e : fs::directory_iterator(fs::path(OUTPOST_FUZZ_CORPUS) / dir)) {
      if (!e.path().filename().string().starts_with("regression")) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      auto r = parse_release_file(text.str());
      EXPECT_FALSE(r) << e.path();
      ++seen;
    }
  }
  EXPECT_GE(seen, 5);
}

}  // namespace
}  // namespace outpost::gate
