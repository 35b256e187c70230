#include "registry/image_ref.hpp"

#include <gtest/gtest.h>

namespace outpost::registry {

TEST(ImageRef, NormalisesLikeContainerRuntimes) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"nginx", "docker.io/library/nginx:latest"},
      {"nginx:1.25", "docker.io/library/nginx:1.25"},
      {"bitnami/redis:7", "docker.io/bitnami/redis:7"},
      {"docker.io/nginx", "docker.io/library/nginx:latest"},
      {"index.docker.io/library/nginx:1", "docker.io/library/nginx:1"},
      {"ghcr.io/org/app:v1", "ghcr.io/org/app:v1"},
      {"localhost:5000/app", "localhost:5000/app:latest"},
      {"registry.test:5000/a/b/c:tag", "registry.test:5000/a/b/c:tag"},
  };
  for (const auto& c : cases) {
    auto r = parse_image_ref(c.in);
    ASSERT_TRUE(r) << c.in << ": " << r.error().message;
    EXPECT_EQ(r->str(), c.out) << c.in;
  }
}

TEST(ImageRef, KeepsDigestsAndResolvesByThem) {
  std::string d = "sha256:" + std::string(64, 'c');
  auto r = parse_image_ref("quay.io/x/y@" + d);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->tag.empty());
  EXPECT_EQ(r->reference(), d);
  r = parse_image_ref("quay.io/x/y:1@" + d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str(), "quay.io/x/y:1@" + d);
}

TEST(ImageRef, RejectsMalformed) {
  for (auto bad : {"", "UPPER/case", "nginx:", "nginx@sha256:zz", "a//b", "-x", "nginx:bad tag"})
    EXPECT_FALSE(parse_image_ref(bad)) << bad;
}

}  // namespace outpost::registry

namespace outpost::registry {
namespace {

// Found by fuzz_image_ref: a 250-character Docker Hub name was accepted, but its normal form
// (with "library/") was not.
TEST(ImageRef, NormalFormsAlwaysParseAgain) {
  std::string name(250, 'a');
  EXPECT_FALSE(parse_image_ref(name));
  auto ok = parse_image_ref(std::string(240, 'a'));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(parse_image_ref(ok->str()));
}

}  // namespace
}  // namespace outpost::registry
