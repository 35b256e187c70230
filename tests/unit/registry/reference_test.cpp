#include "registry/reference.hpp"

#include <gtest/gtest.h>

namespace outpost::registry {

TEST(Reference, AcceptsSpecRepositoryNames) {
  for (auto ok :
       {"nginx", "library/nginx", "a/b/c", "my-app", "my__app", "my.app", "a-----b", "x0"})
    EXPECT_TRUE(valid_repository(ok)) << ok;
}

TEST(Reference, RejectsHostileRepositoryNames) {
  for (auto bad : {"", "..", "../etc", "a/../b", "-x", "a/-x", "A", "a//b", "/a", "a/", "a_",
                   "a___b", "a b", "a%2e", ".hidden", "a/.", "a\nb"})
    EXPECT_FALSE(valid_repository(bad)) << bad;
  EXPECT_FALSE(valid_repository(std::string(256, 'a')));
}

TEST(Reference, ValidatesTags) {
  EXPECT_TRUE(valid_tag("latest"));
  EXPECT_TRUE(valid_tag("v1.2.3-rc_1"));
  EXPECT_FALSE(valid_tag("-x"));
  EXPECT_FALSE(valid_tag(".."));
  EXPECT_FALSE(valid_tag("a/b"));
  EXPECT_FALSE(valid_tag(std::string(129, 'a')));
}

TEST(Reference, NormalisesDockerHubOfficialImages) {
  EXPECT_EQ(normalize_docker_hub("docker.io", "nginx"), "library/nginx");
  EXPECT_EQ(normalize_docker_hub("docker.io", "bitnami/redis"), "bitnami/redis");
  EXPECT_EQ(normalize_docker_hub("ghcr.io", "nginx"), "nginx");
}

}  // namespace outpost::registry
