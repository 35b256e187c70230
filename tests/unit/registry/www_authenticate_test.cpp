#include "registry/www_authenticate.hpp"

#include <gtest/gtest.h>

namespace outpost::registry {

TEST(WwwAuthenticate, ParsesBearerChallenge) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c->params["service"], "registry.docker.io");
  EXPECT_EQ(c->params["scope"], "repository:library/nginx:pull");
}

TEST(WwwAuthenticate, ParsesBasicAndRejectsGarbage) {
  EXPECT_EQ(parse_www_authenticate(R"(Basic realm="x")")->scheme, "basic");
  EXPECT_FALSE(parse_www_authenticate("Negotiate abc"));
  EXPECT_FALSE(parse_www_authenticate(R"(Bearer realm="unterminated)"));
}

}  // namespace outpost::registry
