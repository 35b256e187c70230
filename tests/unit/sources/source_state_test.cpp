#include "sources/source_state.hpp"
#include "sources/notify.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace outpost::sources {
namespace {

using Kind = registry::SourceView::TagAnswer::Kind;

Digest dg(char c) {
  return Digest::from_hex(std::string(64, c));
}

VersionState version(VersionState::State s, char c, std::string why = "") {
  VersionState v;
  v.state = s;
  v.digest = dg(c);
  v.why = std::move(why);
  return v;
}

TEST(SourceState, ListsTheSnapshotWithoutHeldVersions) {
  SourceState st;
  st.versions["1.5.0"] = version(VersionState::State::ready, 'a');
  st.versions["1.6.0"] = version(VersionState::State::held, 'b', "image missing");
  st.versions["1.3.0"] = version(VersionState::State::ready, 'c');  // gone upstream, still kept
  auto tags = visible_tags({"1.0.0", "1.5.0", "1.6.0", "stable", "1.6.0_build.1"}, st);
  EXPECT_EQ(tags, (std::vector<std::string>{"1.0.0", "1.3.0", "1.5.0", "1.6.0_build.1", "stable"}));
}

TEST(SourceState, AnswersFollowedTagsFromWhatIsAdvertised) {
  SourceState st;
  st.tags["stable"].advertised = dg('a');
  st.tags["stable"].upstream = dg('b');
  st.tags["stable"].why = "image missing";
  st.tags["edge"].why = "no such tag upstream";
  st.versions["1.6.0"] = version(VersionState::State::held, 'b', "image x missing");
  auto a = answer_for(st, "stable");
  EXPECT_EQ(a.kind, Kind::advertised);
  EXPECT_EQ(a.digest, dg('a'));
  EXPECT_EQ(answer_for(st, "edge").kind, Kind::held);
  auto held = answer_for(st, "1.6.0");
  EXPECT_EQ(held.kind, Kind::held);
  EXPECT_NE(held.why.find("image x missing"), std::string::npos);
  EXPECT_EQ(answer_for(st, "dev").kind, Kind::usual);
}

TEST(SourceState, PicksVersionsInRangeHighestFirstKeepingUnderscoresVerbatim) {
  std::vector<SemVerRange> ranges{*SemVerRange::parse(">=1.4.0 <2.0.0")};
  auto v =
      versions_in_range({"1.4.0", "stable", "1.10.0", "2.0.0", "1.5.0_build.1", "1.3.9"}, ranges);
  EXPECT_EQ(v, (std::vector<std::string>{"1.10.0", "1.5.0_build.1", "1.4.0"}));
}

TEST(SourceState, SurvivesARoundTripThroughItsFile) {
  SourceState st;
  st.tags["stable"].advertised = dg('a');
  st.tags["stable"].moved_at = 7;
  st.versions["1.5.0"] = version(VersionState::State::ready, 'a');
  st.versions["1.6.0"] = version(VersionState::State::held, 'b', "why");
  st.notify["http://sink/hook"].sent = 3;
  st.listed_at = 42;
  st.reached = false;
  st.newest_upstream = "1.6.0";
  auto back = state_from_json(nlohmann::json::parse(state_json(st).dump()));
  EXPECT_EQ(back.tags["stable"].advertised, dg('a'));
  EXPECT_FALSE(back.tags["stable"].upstream);
  EXPECT_EQ(back.versions["1.6.0"].state, VersionState::State::held);
  EXPECT_EQ(back.versions["1.6.0"].why, "why");
  EXPECT_EQ(back.notify["http://sink/hook"].sent, 3u);
  EXPECT_EQ(back.listed_at, 42);
  EXPECT_FALSE(back.reached);
  EXPECT_EQ(back.newest_upstream, "1.6.0");
  EXPECT_TRUE(state_from_json(nlohmann::json::parse(R"({"versions":{"x":{"digest":"nope"}}})"))
                  .versions.empty());
}

}  // namespace
}  // namespace outpost::sources

namespace outpost::sources {
namespace {

TEST(Notify, ShowsTargetsWithoutTheirSecrets) {
  EXPECT_EQ(shown_url("http://notification-controller.flux-system.svc/hook/0123abcd"),
            "http://notification-controller.flux-system.svc/hook/…");
  EXPECT_EQ(shown_url("https://user:pw@argocd.example/api/webhook?token=x"),
            "https://argocd.example/api/webhook");
  EXPECT_EQ(shown_url("http://argocd-server.argocd.svc/api/webhook"),
            "http://argocd-server.argocd.svc/api/webhook");
}

}  // namespace
}  // namespace outpost::sources
