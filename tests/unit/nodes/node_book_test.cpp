#include "nodes/node_book.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../fakes/temp_dir.hpp"
#include "nodes/canary.hpp"
#include "nodes/handlers.hpp"

namespace outpost::nodes {
namespace {

struct NodeBookTest : ::testing::Test {
  testing::TempDir dir;
  FakeClock clock;
  NodesConfig cfg = [] {
    NodesConfig c;
    c.stale_after = std::chrono::hours(1);
    return c;
  }();
  std::filesystem::path file = dir.path() / "nodes.json";
  NodeBook book{cfg, file, clock};

  NodeView node(const std::string& name) {
    auto v = book.find(name);
    EXPECT_TRUE(v) << name;
    return v ? *v : NodeView{};
  }
};

TEST(NodeAddress, ThePeerAddressLosesItsPortAndTheV4MappedPrefix) {
  EXPECT_EQ(address_of("10.0.0.5:41234"), "10.0.0.5");
  EXPECT_EQ(address_of("[fd00::5]:80"), "fd00::5");
  EXPECT_EQ(address_of("::ffff:10.0.0.5:41234"), "10.0.0.5");
  EXPECT_EQ(address_of("fd00::5:41234"), "fd00::5");  // how the server writes an IPv6 peer
  EXPECT_EQ(address_of("::1:5000"), "::1");
}

TEST_F(NodeBookTest, ARegisteredNodeTakesThePullsOfItsAddressAndIsNotFlagged) {
  book.pulled("10.0.0.5:5000");
  ASSERT_TRUE(book.report("10.0.0.5:6000", {"node-a", "containerd", "1.6.20", "doctor", "", {}}));
  auto a = node("node-a");
  EXPECT_TRUE(a.last_pull);
  EXPECT_FALSE(a.flagged) << a.why;
  EXPECT_EQ(a.addresses, std::vector<std::string>{"10.0.0.5"});
  // Listed once: as the registered node, not also as an unregistered client.
  auto all = book.list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].registered);
}

TEST_F(NodeBookTest, ANodeThatNeverPulledIsFlaggedAndAStaleOneToo) {
  ASSERT_TRUE(book.report("10.0.0.7:1", {"node-c", "containerd", "1.6.20", "node-config", "", {}}));
  EXPECT_TRUE(node("node-c").flagged);
  EXPECT_NE(node("node-c").why.find("since it registered"), std::string::npos);
  book.pulled("10.0.0.7:2");
  EXPECT_FALSE(node("node-c").flagged);
  clock.advance(std::chrono::minutes(59));
  EXPECT_FALSE(node("node-c").flagged);
  clock.advance(std::chrono::minutes(2));
  EXPECT_TRUE(node("node-c").flagged);
  EXPECT_NE(node("node-c").why.find("through Outpost for "), std::string::npos)
      << node("node-c").why;
}

TEST_F(NodeBookTest, WhatTheDoctorFoundBypassingFlagsTheNode) {
  book.pulled("10.0.0.8:1");
  ASSERT_TRUE(
      book.report("10.0.0.8:2", {"node-b", "containerd", "1.7", "doctor", "", {"ghcr.io"}}));
  EXPECT_TRUE(node("node-b").flagged);
  EXPECT_NE(node("node-b").why.find("ghcr.io"), std::string::npos);
}

TEST_F(NodeBookTest, ACanaryIsRecordedForTheNodeThatAnnouncedItsTag) {
  ASSERT_TRUE(book.report("10.0.0.9:1", {"node-d", "containerd", "1.6", "doctor", "c0ffee", {}}));
  // The canary may come from another address (a NodePort's SNAT): the tag names the node.
  book.canary("10.9.9.9:5", "c0ffee", "docker.io");
  book.canary("10.9.9.9:6", "c0ffee", "ghcr.io");
  auto d = node("node-d");
  EXPECT_TRUE(d.last_canary);
  EXPECT_EQ(d.canary_upstreams, (std::vector<std::string>{"docker.io", "ghcr.io"}));
  EXPECT_FALSE(d.flagged);
}

TEST_F(NodeBookTest, AHostileNameIsRefusedAndClientTextIsCleaned) {
  EXPECT_FALSE(book.report("1.2.3.4:1", {"../etc", "", "", "", "", {}}));
  EXPECT_FALSE(book.report("1.2.3.4:1", {"-x", "", "", "", "", {}}));
  EXPECT_FALSE(book.report("1.2.3.4:1", {"", "", "", "", "", {}}));
  ASSERT_TRUE(book.report("1.2.3.4:1", {"n1", "containerd\n\x1b[31m", "", "", "", {}}));
  EXPECT_EQ(node("n1").runtime, "containerd[31m");
}

TEST_F(NodeBookTest, WhatWasSeenSurvivesARestart) {
  ASSERT_TRUE(book.report("10.0.0.5:1", {"node-a", "containerd", "1.6.20", "doctor", "t1", {}}));
  book.canary("10.0.0.5:2", "t1", "docker.io");
  {
    NodeBook again(cfg, file, clock);
    auto a = again.find("node-a");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->runtime_version, "1.6.20");
    EXPECT_TRUE(a->last_canary);
    EXPECT_EQ(a->canary_upstreams, std::vector<std::string>{"docker.io"});
  }
  std::ofstream(file) << "{not json";
  NodeBook fresh(cfg, file, clock);
  EXPECT_TRUE(fresh.list().empty());
}

TEST_F(NodeBookTest, ClientAddressesAreBounded) {
  NodesConfig small = cfg;
  small.max_addresses = 3;
  NodeBook b(small, dir.path() / "small.json", clock);
  for (int i = 0; i < 10; ++i) {
    b.pulled("10.0.1." + std::to_string(i) + ":1");
    clock.advance(std::chrono::seconds(1));
  }
  auto all = b.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "10.0.1.9");  // the most recent first; the oldest were forgotten
}

TEST_F(NodeBookTest, TheApiRegistersFromTheRequestAddressAndListsTheNodes) {
  auto post = http::Request::make("POST", "/api/v1/nodes").value();
  post.remote = "10.0.0.5:4000";
  post.body = R"({"name":"node-a","runtime":"containerd","runtime_version":"1.6.20"})";
  auto r = handle_nodes(book, cfg, post);
  EXPECT_EQ(r.status, 200);
  auto list = handle_nodes(book, cfg, http::Request::make("GET", "/api/v1/nodes").value());
  auto j = nlohmann::json::parse(std::get<std::string>(list.body));
  EXPECT_EQ(j["registered"], 1);
  EXPECT_EQ(j["flagged"], 1);  // never pulled yet
  EXPECT_EQ(j["nodes"][0]["addresses"][0], "10.0.0.5");
  post.body = "[1,2]";
  EXPECT_EQ(handle_nodes(book, cfg, post).status, 400);
  EXPECT_EQ(
      handle_nodes(book, cfg, http::Request::make("GET", "/api/v1/nodes/nope").value()).status,
      404);
}

TEST(Canary, AnyTagNamesTheIndexWhoseManifestsAndBlobsAreServedByDigest) {
  auto index = canary_manifest("abc123");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->media_type, "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(sha256_of(index->bytes), index->digest);
  auto j = nlohmann::json::parse(index->bytes);
  ASSERT_GE(j["manifests"].size(), 2u);
  for (const auto& m : j["manifests"]) {
    auto doc = canary_manifest(m["digest"].get<std::string>());
    ASSERT_TRUE(doc);
    auto mj = nlohmann::json::parse(doc->bytes);
    auto cfg = canary_blob(*Digest::parse(mj["config"]["digest"].get<std::string>()));
    ASSERT_TRUE(cfg);
    EXPECT_EQ(nlohmann::json::parse(*cfg)["architecture"], m["platform"]["architecture"]);
    auto layer = canary_blob(*Digest::parse(mj["layers"][0]["digest"].get<std::string>()));
    ASSERT_TRUE(layer);
    EXPECT_EQ(layer->size(), mj["layers"][0]["size"].get<std::size_t>());
  }
  EXPECT_FALSE(canary_manifest("sha256:" + std::string(64, 'f')));
  EXPECT_FALSE(canary_blob(sha256_of("other")));
}

}  // namespace
}  // namespace outpost::nodes
