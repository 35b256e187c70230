#include "registry/accept.hpp"

#include <gtest/gtest.h>

namespace outpost::registry {
namespace {

constexpr auto kOci = "application/vnd.oci.image.manifest.v1+json";
constexpr auto kDocker = "application/vnd.docker.distribution.manifest.v2+json";

TEST(ManifestAccept, NoHeaderOrAWildcardAcceptsEveryType) {
  EXPECT_TRUE(ManifestAccept::parse("").all());
  EXPECT_TRUE(ManifestAccept::parse("*/*").all());
  EXPECT_TRUE(ManifestAccept::parse(std::string(kDocker) + ", application/*;q=0.1").all());
  EXPECT_TRUE(ManifestAccept::parse(" , ").all());
}

TEST(ManifestAccept, OnlyTheListedTypesAreAcceptedWhatEverTheirParameters) {
  auto a = ManifestAccept::parse(std::string(kDocker) + "; q=0.9, APPLICATION/JSON");
  EXPECT_FALSE(a.all());
  EXPECT_TRUE(a.accepts(kDocker));
  EXPECT_TRUE(a.accepts("application/json; charset=utf-8"));
  EXPECT_FALSE(a.accepts(kOci));
  EXPECT_EQ(a.key(), std::string("application/json,") + kDocker);
}

TEST(ManifestAccept, QualityZeroExcludesAType) {
  auto a = ManifestAccept::parse(std::string(kDocker) + ", " + kOci + ";q=0.0");
  EXPECT_TRUE(a.accepts(kDocker));
  EXPECT_FALSE(a.accepts(kOci));
}

TEST(ManifestAccept, TheSameSetInAnotherOrderHasTheSameKey) {
  auto a = ManifestAccept::parse(std::string(kDocker) + "," + kOci);
  auto b = ManifestAccept::parse(std::string(kOci) + ",  " + kDocker + ", " + kOci);
  EXPECT_EQ(a.key(), b.key());
  EXPECT_EQ(a.upstream_header(), std::string(kDocker) + ", " + kOci);
}

TEST(ManifestAccept, TheRefusalNamesTheStoredType) {
  auto msg = not_accepted_message("application/vnd.oci.image.index.v1+json",
                                  ManifestAccept::parse(kDocker));
  EXPECT_NE(msg.find("OCI index found"), std::string::npos) << msg;
  EXPECT_NE(msg.find(kDocker), std::string::npos) << msg;
}

}  // namespace
}  // namespace outpost::registry

namespace outpost::registry {
namespace {

TEST(ManifestAccept, AClientListingEveryStandardFormAcceptsEveryType) {
  // What skopeo, podman and CRI-O send: the tag they resolve is every client's.
  auto a = ManifestAccept::parse(
      "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
      "application/vnd.docker.distribution.manifest.v2+json, "
      "application/vnd.docker.distribution.manifest.list.v2+json, "
      "application/vnd.docker.distribution.manifest.v1+prettyjws");
  EXPECT_TRUE(a.all());
  EXPECT_EQ(a.key(), "");
}

}  // namespace
}  // namespace outpost::registry
