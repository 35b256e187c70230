#include "git/repo_path.hpp"
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace outpost::git {

GitConfig config() {
  return default_config().git;
}

TEST(GitPath, MapsUrlToRepoAndEndpoint) {
  auto r = parse_git_path("/git/github.com/org/app.git/info/refs", config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo.host, "github.com");
  EXPECT_EQ(r->repo.path, "org/app");
  EXPECT_EQ(r->endpoint, Endpoint::info_refs);
  r = parse_git_path("/git/gitlab.com/group/sub/app/git-upload-pack", config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo.path, "group/sub/app");
  EXPECT_EQ(r->endpoint, Endpoint::upload_pack);
  EXPECT_EQ(parse_git_path("/git/github.com/o/a/git-receive-pack", config())->endpoint,
            Endpoint::receive_pack);
}

TEST(GitPath, RefusesHostsOutsideTheAllowlist) {
  auto r = parse_git_path("/git/evil.example.com/org/app.git/info/refs", config());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST(GitPath, RefusesTraversalAndOptionLikeComponents) {
  for (auto bad :
       {"/git/github.com/../etc/info/refs", "/git/github.com/org/../x/info/refs",
        "/git/github.com/-x/app/info/refs", "/git/github.com/org/--upload-pack=sh/info/refs",
        "/git/github.com/org/.git/info/refs", "/git/github.com/org/a b/info/refs",
        "/git/github.com/org/x.lock/info/refs", "/git/github.com/.git/info/refs",
        "/git/github.com//info/refs", "/git/github.com/org//app/info/refs"}) {
    auto r = parse_git_path(bad, config());
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
  }
}

TEST(GitPath, MirrorDirAndUpstreamUrlAreOneToOne) {
  RepoId id{"github.com", "org/app"};
  EXPECT_EQ(mirror_dir("/data", id), std::filesystem::path("/data/git/github.com/org/app.git"));
  EXPECT_EQ(upstream_url(*config().find("github.com"), id), "https://github.com/org/app.git");
}

}  // namespace outpost::git
