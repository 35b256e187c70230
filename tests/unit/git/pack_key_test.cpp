#include "git/pack_key.hpp"

#include <gtest/gtest.h>

#include "git/pkt_line.hpp"

namespace outpost::git {
namespace {

const std::string kA(40, 'a'), kB(40, 'b'), kC(40, 'c');

std::string v0(std::vector<std::string> lines_before_flush, std::vector<std::string> after) {
  std::string body;
  for (const auto& l : lines_before_flush) body += pkt_line(l + "\n");
  body += "0000";
  for (const auto& l : after) body += pkt_line(l + "\n");
  return body;
}

std::string v2(std::vector<std::string> caps, std::vector<std::string> args) {
  std::string body = pkt_line("command=fetch\n");
  for (const auto& c : caps) body += pkt_line(c + "\n");
  body += "0001";
  for (const auto& a : args) body += pkt_line(a + "\n");
  return body + "0000";
}

TEST(PackKey, OrderAndWhatTheClientSaysOfItselfDoNotChangeTheKey) {
  auto a = canonical_fetch_request(
      v0({"want " + kA + " side-band-64k ofs-delta agent=git/2.39", "want " + kB},
         {"have " + kC, "done"}),
      0);
  auto b = canonical_fetch_request(
      v0({"want " + kB + " ofs-delta side-band-64k agent=git/2.45 session-id=x", "want " + kA},
         {"have " + kC, "done"}),
      0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  auto c = canonical_fetch_request(v2({"agent=git/2.39", "object-format=sha1"},
                                      {"thin-pack", "want " + kA, "want " + kB, "done"}),
                                   2);
  auto d = canonical_fetch_request(
      v2({"object-format=sha1", "agent=go-git"}, {"want " + kB, "want " + kA, "thin-pack", "done"}),
      2);
  ASSERT_TRUE(c && d);
  EXPECT_EQ(*c, *d);
  EXPECT_NE(*a, *c);  // another protocol is another key
}

TEST(PackKey, WantsHavesDepthFilterAndCapabilitiesEachChangeTheKey) {
  auto base = *canonical_fetch_request(v2({}, {"want " + kA, "done"}), 2);
  for (const std::string& extra : std::vector<std::string>{"have " + kB, "deepen 1", "filter blob:none", "shallow " + kC, "no-progress",
                     "want " + kB, "include-tag"}) {
    auto k = canonical_fetch_request(v2({}, {"want " + kA, extra, "done"}), 2);
    ASSERT_TRUE(k) << extra;
    EXPECT_NE(*k, base) << extra;
  }
  auto plain = *canonical_fetch_request(v0({"want " + kA + " ofs-delta"}, {"done"}), 0);
  auto sideband =
      *canonical_fetch_request(v0({"want " + kA + " ofs-delta side-band-64k"}, {"done"}), 0);
  auto shallow =
      *canonical_fetch_request(v0({"want " + kA + " ofs-delta", "deepen 1"}, {"done"}), 0);
  EXPECT_NE(plain, sideband);
  EXPECT_NE(plain, shallow);
}

TEST(PackKey, OnlyARequestAPackCanFollowIsKeyed) {
  EXPECT_FALSE(canonical_fetch_request(v0({"want " + kA}, {"have " + kB}), 0));  // a round
  auto round = canonical_fetch_request(v2({}, {"want " + kA, "have " + kB}), 2);
  auto last = canonical_fetch_request(v2({}, {"want " + kA, "have " + kB, "done"}), 2);
  ASSERT_TRUE(round && last);  // v2 sends the pack once ready, "done" or not
  EXPECT_NE(*round, *last);
  std::string ls_refs = pkt_line("command=ls-refs\n") + "0001" + pkt_line("peel\n") + "0000";
  EXPECT_FALSE(canonical_fetch_request(ls_refs, 2));
}

}  // namespace
}  // namespace outpost::git
