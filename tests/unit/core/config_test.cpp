#include "config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

namespace outpost {

TEST(Config, EmbeddedDefaultHasDataDirListenAndUpstreams) {
  auto c = default_config();
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.data_dir, "./outpost-data");
  EXPECT_NE(c.registry.find("docker.io"), nullptr);
  EXPECT_NE(c.registry.find("ghcr.io"), nullptr);
  EXPECT_EQ(c.registry.default_upstream, "docker.io");
}

TEST(Config, ParsesRegistryUpstreams) {
  auto c = parse_config(R"(
listen: 127.0.0.1:9999
data_dir: /tmp/x
registry:
  default_upstream: local
  tag_ttl: 1m
  upstreams:
    - name: local
      url: http://127.0.0.1:5000/
      insecure: true
)",
                        "test.yaml");
  EXPECT_EQ(c.listen, "127.0.0.1:9999");
  ASSERT_EQ(c.registry.upstreams.size(), 1u);
  EXPECT_EQ(c.registry.upstreams[0].url, "http://127.0.0.1:5000");
  EXPECT_EQ(c.registry.tag_ttl, Millis(60'000));
}

TEST(Config, RegistryMirrorKeepsItsPathAndTakesARepositoryPrefix) {
  auto c = parse_config(R"(
registry:
  upstreams:
    - name: docker.io
      url: https://registry-1.docker.io
      mirrors:
        - url: https://harbor.corp/
          repository_prefix: /dockerhub-proxy/
        - url: https://art.corp/artifactory/api/docker/dockerhub/
)",
                        "test.yaml");
  const auto& m = c.registry.find("docker.io")->mirrors;
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].url, "https://harbor.corp");
  EXPECT_EQ(m[0].repository_prefix, "dockerhub-proxy");
  EXPECT_EQ(m[1].url, "https://art.corp/artifactory/api/docker/dockerhub");
  EXPECT_EQ(m[1].repository_prefix, "");
}

void expect_error(const std::string& yaml, const std::string& needle) {
  try {
    parse_config(yaml, "test.yaml");
    ADD_FAILURE() << "no error for: " << yaml;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Config, ErrorsNameTheKeyAndTheProblem) {
  expect_error("listn: x\n", "listn: unknown key");
  expect_error("registry:\n  tag_ttl: 5\n", "registry.tag_ttl");
  expect_error("registry:\n  upstreams:\n    - name: a\n      url: http://x\n",
               "registry.upstreams[0].url: plain http:// needs insecure: true");
  expect_error("registry:\n  default_upstream: nope\n", "registry.default_upstream");
  expect_error("listen: nohost\n", "listen");
  expect_error("log:\n  format: xml\n", "log.format");
  expect_error("a: [\n", "invalid YAML");
  expect_error(
      "registry:\n  upstreams:\n    - name: a\n      url: https://x\n    - name: a\n      url: "
      "https://y\n",
      "duplicate upstream name");
  expect_error(
      "registry:\n  upstreams:\n    - name: a\n      url: https://x\n      mirrors:\n        - "
      "{url: https://h, repository_prefix: ../etc}\n",
      "repository_prefix '../etc' is not a repository path");
  // Git and Helm mirrors take no repository_prefix.
  expect_error(
      "git:\n  upstreams:\n    - host: g.test\n      mirrors:\n        - "
      "{url: https://h, repository_prefix: p}\n",
      "repository_prefix: unknown key");
}

TEST(Config, ParsesListenAddresses) {
  EXPECT_EQ(parse_listen("0.0.0.0:80").port, 80);
  EXPECT_EQ(parse_listen("[::1]:8080").host, "::1");
  EXPECT_THROW(parse_listen("127.0.0.1:99999"), ConfigError);
}

}  // namespace outpost

namespace outpost {

TEST(Config, ParsesGitGatingStorageAndBundleSections) {
  auto c = parse_config(R"(
git:
  gating:
    - repo: github.com/org/app.git
      mode: images
      paths: [deploy, charts]
    - repo: gitlab.com/g/p
      mode: bundle
storage:
  keep_releases: 5
  gc_high_watermark: 0.8
  gc_low_watermark: 0.6
bundle:
  allowed_sources: ["https://bundles.example/"]
)",
                        "t.yaml");
  ASSERT_EQ(c.git.gating.size(), 2u);
  EXPECT_EQ(c.git.gating[0].repo, "github.com/org/app");
  EXPECT_EQ(c.git.gating[0].paths, (std::vector<std::string>{"deploy", "charts"}));
  EXPECT_EQ(c.git.gating[1].paths, (std::vector<std::string>{"."}));
  EXPECT_EQ(c.git.gating[0].mode, GateMode::images);
  EXPECT_EQ(c.git.gating[1].mode, GateMode::bundle);
  EXPECT_EQ(c.storage.keep_releases, 5);
  EXPECT_DOUBLE_EQ(c.storage.gc_low_watermark, 0.6);
  EXPECT_EQ(c.bundle.allowed_sources.size(), 1u);
}

TEST(Config, RejectsBadGatingAndWatermarks) {
  expect_error("git:\n  gating:\n    - {repo: github.com/x/y, mode: maybe}\n",
               "git.gating[0].mode");
  expect_error("git:\n  gating:\n    - {repo: noslash, mode: images}\n", "git.gating[0].repo");
  expect_error("storage:\n  gc_high_watermark: 1.5\n", "storage.gc_high_watermark");
  expect_error("storage:\n  gc_high_watermark: 0.5\n  gc_low_watermark: 0.7\n",
               "storage.gc_low_watermark");
  expect_error("bundle:\n  allowed_sources: [ftp://x/]\n", "bundle.allowed_sources[0]");
}

TEST(Config, ParsesFollowedOciSourcesAndRejectsBadOnes) {
  auto c = parse_config(
      "sources:\n  oci:\n    - repository: oci://ghcr.io/acme/shop-manifests\n"
      "      follow: [stable, \">=1.4.0 <2.0.0\"]\n      interval: 30s\n      keep: 5\n"
      "      notify:\n        - {kind: flux, url: http://flux/hook/x}\n",
      "t.yaml");
  ASSERT_EQ(c.sources.oci.size(), 1u);
  const auto& o = c.sources.oci[0];
  EXPECT_EQ(o.repository, "ghcr.io/acme/shop-manifests");
  EXPECT_EQ(o.follow.size(), 2u);
  EXPECT_EQ(o.interval, std::chrono::seconds(30));
  EXPECT_EQ(o.keep, 5);
  EXPECT_EQ(o.gate, SourceGate::images);
  EXPECT_EQ(o.notify.at(0).kind, SourceNotifyConfig::Kind::flux);
  const std::string head = "sources:\n  oci:\n    - ";
  expect_error(head + "{repository: nowhere.example/x, follow: [a]}\n",
               "sources.oci[0].repository");
  expect_error(head + "{repository: ghcr.io/../etc, follow: [a]}\n", "sources.oci[0].repository");
  expect_error(head + "{repository: ghcr.io/a/b, follow: []}\n", "sources.oci[0].follow");
  expect_error(head + "{repository: ghcr.io/a/b, follow: [\">=banana\"]}\n",
               "sources.oci[0].follow");
  expect_error(head + "{repository: ghcr.io/a/b, follow: [x], keep: 0}\n", "sources.oci[0].keep");
  expect_error(
      head + "{repository: ghcr.io/a/b, follow: [x], notify: [{kind: slack, url: http://x}]}\n",
      "sources.oci[0].notify[0].kind");
  expect_error(
      head + "{repository: ghcr.io/a/b, follow: [x], notify: [{kind: flux, url: ftp://x}]}\n",
      "sources.oci[0].notify[0].url");
}

}  // namespace outpost

namespace outpost {
namespace {

// Found by fuzz_config: a complex key ("? upstreams") made yaml-cpp throw past parse_config.
TEST(Config, UnexpectedYamlShapesAreConfigErrors) {
  for (const char* text : {"registry:\n? upstreams:\n    - no\n", "? [a]\n: b\n", "git: [1, 2]\n",
                           "log: {level: [x]}\n"}) {
    EXPECT_THROW(parse_config(text, "t.yaml"), ConfigError) << text;
  }
}

}  // namespace
}  // namespace outpost

// The reference lists every key the parser accepts, each as `path` in a table row, and no other.
TEST(Config, ReferenceDocumentsEveryKeyAndNoOther) {
  std::ifstream in(std::string(OUTPOST_DOCS_DIR) + "/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::set<std::string> documented;
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("| `")) documented.insert(line.substr(3, line.find('`', 3) - 3));
  std::set<std::string> accepted;
  for (const auto& k : outpost::config_key_paths()) accepted.insert(k);
  for (const auto& k : accepted) EXPECT_TRUE(documented.contains(k)) << k << " is not documented";
  for (const auto& k : documented) EXPECT_TRUE(accepted.contains(k)) << k << " is not a config key";
}

namespace outpost {
namespace {

TEST(Config, AClusterNeedsAPeerToken) {
  const std::string cluster =
      "cluster:\n  advertise: http://10.0.0.1:8080\n  peers: [http://10.0.0.1:8080, "
      "http://10.0.0.2:8080]\n";
  expect_error(cluster, "a cluster needs a token in group peer");
}

}  // namespace
}  // namespace outpost
