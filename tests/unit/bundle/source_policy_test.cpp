#include "bundle/source_policy.hpp"

#include <gtest/gtest.h>

#include "upstream/origin.hpp"

namespace outpost::bundle {
namespace {

TEST(SourcePolicy, MatchesUrlsByOriginAndPathBoundary) {
  struct Case {
    const char* source;
    const char* prefix;
    bool under;
  };
  for (const auto& [source, prefix, under] : std::vector<Case>{
           {"http://bundles.example/x.tar", "http://bundles.example", true},
           {"http://bundles.example:80/x.tar", "http://bundles.example", true},
           {"HTTP://Bundles.Example/x.tar", "http://bundles.example", true},
           {"http://bundles.example/rel/x.tar", "http://bundles.example/rel", true},
           {"http://bundles.example/rel/x.tar", "http://bundles.example/rel/", true},
           {"http://bundles.example/rel", "http://bundles.example/rel", true},
           // userinfo: the host dialled is the one after '@'
           {"http://bundles.example@127.0.0.1:9/x.tar", "http://bundles.example", false},
           {"http://u:p@bundles.example/x.tar", "http://bundles.example", false},
           // another host, port or scheme
           {"http://bundles.example.evil/x.tar", "http://bundles.example", false},
           {"http://bundles.example:8080/x.tar", "http://bundles.example", false},
           {"https://bundles.example/x.tar", "http://bundles.example", false},
           // the path on a '/' boundary, after dot segments
           {"http://bundles.example/release-evil/x.tar", "http://bundles.example/rel", false},
           {"http://bundles.example/releases/../evil/x.tar", "http://bundles.example/releases/",
            false},
           {"http://bundles.example/releases/%2e%2e/evil/x.tar", "http://bundles.example/releases/",
            false},
           // local paths and oci:// references
           {"/srv/bundles/x.tar", "/srv/bundles", true},
           {"/srv/bundles/x.tar", "/srv/bundles/", true},
           {"/srv/bundles-evil/x.tar", "/srv/bundles", false},
           {"oci://hub.test/bundles/shop:v1", "oci://hub.test/bundles", true},
           {"oci://hub.test/bundles:v1", "oci://hub.test/bundles", true},
           {"oci://hub.test/bundles-evil/shop:v1", "oci://hub.test/bundles", false},
           {"oci://hub.test/bundles/shop:v1", "http://hub.test/bundles", false},
       }) {
    EXPECT_EQ(source_under(source, prefix), under) << source << " under " << prefix;
  }
}

TEST(SourcePolicy, AnEmptyListAdmitsOperatorUrlsAndNoReleaseFile) {
  EXPECT_TRUE(check_allowed("https://x.test/a.tar", {}, true, SourceFrom::operator_request));
  auto local = check_allowed("/srv/a.tar", {}, false, SourceFrom::operator_request);
  ASSERT_FALSE(local);
  EXPECT_EQ(local.error().code, Errc::forbidden);
  auto gated = check_allowed("https://x.test/a.tar", {}, true, SourceFrom::release_file);
  ASSERT_FALSE(gated);
  EXPECT_EQ(gated.error().code, Errc::forbidden);
  EXPECT_NE(gated.error().message.find("bundle.allowed_sources"), std::string::npos);
}

TEST(SourcePolicy, AListBindsOperatorsAndReleaseFilesAlike) {
  const std::vector<std::string> allowed = {"https://bundles.test/releases/"};
  for (auto from : {SourceFrom::operator_request, SourceFrom::release_file}) {
    EXPECT_TRUE(check_allowed("https://bundles.test/releases/a.tar", allowed, true, from));
    auto r = check_allowed("https://bundles.test/other/a.tar", allowed, true, from);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::forbidden);
  }
}

}  // namespace
}  // namespace outpost::bundle
