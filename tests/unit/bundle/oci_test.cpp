#include "bundle/oci.hpp"

#include <gtest/gtest.h>

namespace outpost::bundle {
namespace {

RegistryConfig registries() {
  RegistryConfig reg;
  reg.upstreams = {{"bundles.example", "https://bundles.example", "", "", false, {}},
                   {"127.0.0.1:5000", "http://127.0.0.1:5000", "", "", true, {}}};
  return reg;
}

TEST(OciSource, ParsesAConfiguredRegistryWithATag) {
  auto r = parse_oci_source("oci://bundles.example/releases/shop:v1.2", registries());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->registry, "bundles.example");
  EXPECT_EQ(r->repo, "releases/shop");
  EXPECT_EQ(r->tag, "v1.2");
  auto p = parse_oci_source("oci://127.0.0.1:5000/shop:v1", registries());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->registry, "127.0.0.1:5000");
}

TEST(OciSource, RefusesWhatWouldDialAnythingElse) {
  for (const char* bad : {"oci://evil.example/shop:v1", "oci://shop:v1", "oci://127.0.0.1:9/x:v1",
                          "https://bundles.example/shop:v1"}) {
    auto r = parse_oci_source(bad, registries());
    EXPECT_FALSE(r) << bad;
  }
}

TEST(OciSource, NeedsATag) {
  auto r = parse_oci_source("oci://bundles.example/releases/shop", registries());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("tag"), std::string::npos);
}

TEST(OciSource, RefusesMalformedNames) {
  for (const char* bad : {"oci://bundles.example/../x:v1", "oci://bundles.example/-x:v1",
                          "oci://bundles.example/Shop:v1", "oci://bundles.example/x:v1 y"}) {
    EXPECT_FALSE(parse_oci_source(bad, registries())) << bad;
  }
}

}  // namespace
}  // namespace outpost::bundle
