#include "core/digest.hpp"

#include <gtest/gtest.h>

namespace outpost {

TEST(Digest, ParsesCanonicalSha256) {
  auto d = Digest::parse("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->hex(), std::string(64, 'a'));
}

TEST(Digest, RejectsMalformed) {
  for (std::string bad : std::initializer_list<std::string>{
           "", "sha256:", "sha256:abc", "sha512:" + std::string(128, 'a'),
           "sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a') + "/",
           "sha256:../../../etc/passwd", "-sha256:" + std::string(64, 'a')}) {
    EXPECT_FALSE(Digest::parse(bad)) << bad;
  }
}

TEST(Sha256, MatchesKnownVector) {
  EXPECT_EQ(sha256_of("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace outpost
