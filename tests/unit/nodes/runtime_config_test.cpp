#include "nodes/runtime_config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../fakes/temp_dir.hpp"

namespace outpost::nodes {
namespace {

const std::vector<std::string> kOutposts{"http://10.0.0.5:30080"};

struct RuntimeConfigTest : ::testing::Test {
  testing::TempDir dir;
  std::filesystem::path write(const std::string& rel, const std::string& text) {
    auto p = dir.path() / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
};

TEST(NamesOutpost, HostAndPortDecideWithTheSchemesDefaultPort) {
  EXPECT_TRUE(names_outpost("http://10.0.0.5:30080/", kOutposts));
  EXPECT_TRUE(names_outpost("10.0.0.5:30080/docker.io", kOutposts));
  EXPECT_FALSE(names_outpost("https://10.0.0.5", kOutposts));
  EXPECT_TRUE(names_outpost("https://outpost.site", {"https://outpost.site:443"}));
  EXPECT_FALSE(names_outpost("", kOutposts));
}

TEST_F(RuntimeConfigTest, HostsAreTakenInTheOrderWrittenNotTheKeysOrder) {
  // "http://a-mirror…" sorts before "http://10…" by key but is written second.
  write("certs.d/docker.io/hosts.toml",
        "server = \"https://registry-1.docker.io\"\n"
        "[host.\"http://zz.example:5000\"]\n  capabilities = [\"push\"]\n"
        "[host.\"http://10.0.0.5:30080\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        "[host.\"http://a-mirror.example\"]\n  capabilities = [\"pull\", \"resolve\"]\n");
  auto cfg = write("config.toml",
                   "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                   "  config_path = \"" +
                       (dir.path() / "certs.d").string() + "\"\n");
  auto r = check_containerd(cfg, kOutposts, {"docker.io", "ghcr.io"});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_TRUE(r.findings[0].through) << r.findings[0].detail;
  EXPECT_EQ(r.findings[0].line, 4);
  EXPECT_EQ(r.findings[0].hosts_dir, (dir.path() / "certs.d").string());
  // No ghcr.io/ and no _default/: a bypass, pointing at config_path's line.
  EXPECT_FALSE(r.findings[1].through);
  EXPECT_EQ(r.findings[1].file, cfg.string());
  EXPECT_EQ(r.findings[1].line, 3);
}

TEST_F(RuntimeConfigTest, TheDefaultHostsFileCoversAnUpstreamWithoutItsOwn) {
  write("certs.d/_default/hosts.toml", "[host.\"http://10.0.0.5:30080\"]\n");
  auto cfg = write("config.toml",
                   "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                   "  config_path = \"" +
                       (dir.path() / "certs.d").string() + "\"\n");
  auto r = check_containerd(cfg, kOutposts, {"quay.io"});
  EXPECT_TRUE(r.findings.at(0).through) << r.findings[0].detail;
}

TEST_F(RuntimeConfigTest, DeprecatedMirrorsAndNoRegistryConfigAtAll) {
  auto cfg = write("config.toml",
                   "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors."
                   "\"docker.io\"]\n  endpoint = [\"http://10.0.0.5:30080\", "
                   "\"https://registry-1.docker.io\"]\n");
  auto r = check_containerd(cfg, kOutposts, {"docker.io", "ghcr.io"});
  EXPECT_TRUE(r.findings.at(0).through);
  EXPECT_FALSE(r.findings.at(1).through);
  auto bare = write("bare.toml", "version = 2\n");
  EXPECT_FALSE(check_containerd(bare, kOutposts, {"docker.io"}).findings.at(0).through);
  auto broken = write("broken.toml", "version = [\n");
  EXPECT_NE(check_containerd(broken, kOutposts, {"docker.io"}).error.find("broken.toml:"),
            std::string::npos);
}

TEST_F(RuntimeConfigTest, Containerd2DefaultsToAListWhichItsTransferServiceDoesNotRead) {
  write("certs.d/docker.io/hosts.toml", "[host.\"http://10.0.0.5:30080\"]\n");
  auto cfg = write("v3.toml", "version = 3\n");
  auto r = check_containerd(cfg, kOutposts, {"docker.io"});
  EXPECT_FALSE(r.findings.at(0).through);  // the default list, and /etc has no such file here
  EXPECT_FALSE(r.notes.empty());
}

TEST_F(RuntimeConfigTest, CrioDropInsOverrideByPrefixAndDigestOnlyMirrorsDoNotCount) {
  write("registries.conf",
        "[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n"
        "[[registry.mirror]]\nlocation = \"other.example/docker.io\"\n");
  write("conf.d/50-outpost.conf",
        "[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n"
        "[[registry.mirror]]\nlocation = \"10.0.0.5:30080/docker.io\"\ninsecure = true\n"
        "[[registry]]\nprefix = \"ghcr.io\"\nlocation = \"ghcr.io\"\nmirror-by-digest-only = true\n"
        "[[registry.mirror]]\nlocation = \"10.0.0.5:30080/ghcr.io\"\n");
  auto r = check_crio(dir.path() / "registries.conf", dir.path() / "conf.d", kOutposts,
                      {"docker.io", "ghcr.io", "quay.io"});
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.findings.at(0).through) << r.findings[0].detail;
  EXPECT_FALSE(r.findings.at(1).through);
  EXPECT_NE(r.findings[1].detail.find("digest-only"), std::string::npos);
  EXPECT_FALSE(r.findings.at(2).through);
}

TEST_F(RuntimeConfigTest, K3sWildcardMirrorCoversEveryUpstream) {
  auto f = write("registries.yaml",
                 "mirrors:\n  \"*\":\n    endpoint:\n      - http://10.0.0.5:30080\n");
  auto r = check_k3s(f, kOutposts, {"docker.io", "ghcr.io"});
  EXPECT_TRUE(r.findings.at(0).through);
  EXPECT_TRUE(r.findings.at(1).through);
  EXPECT_EQ(r.findings[1].line, 4);
}

}  // namespace
}  // namespace outpost::nodes
