#include "status/site_status.hpp"

#include <gtest/gtest.h>

namespace outpost::status {
namespace {

using nlohmann::json;

json healthy() {
  return json::parse(R"({
    "upstreams": [{"kind": "git", "name": "git.test", "up": true}],
    "git": [{"repo": "git.test/org/app", "cloned": true, "last_sync": "2026-11-26T10:00:00Z",
             "last_error": "", "pending": []}],
    "helm": [{"repo": "charts.test/stable", "last_success": "2026-11-26T10:00:00Z", "charts": 3}],
    "releases": [{"name": "shop", "version": "v1", "state": "ready"}]
  })");
}

TEST(Readiness, OfflineReadyWhenEverythingIsLocal) {
  auto r = readiness(healthy());
  EXPECT_TRUE(r["ready"]);
  EXPECT_EQ(r["state"], "offline-ready");
  EXPECT_TRUE(r["reasons"].empty());
}

TEST(Readiness, AnOutageAloneDoesNotMakeTheSiteUnready) {
  auto s = healthy();
  s["upstreams"][0]["up"] = false;
  s["git"][0]["last_error"] = "could not connect";
  EXPECT_TRUE(readiness(s)["ready"]);
}

TEST(Readiness, ListsEveryReason) {
  auto s = healthy();
  s["git"].push_back({{"repo", "git.test/org/new"}, {"cloned", false}, {"last_sync", nullptr}});
  s["git"][0]["pending"] = json::array(
      {{{"ref", "refs/heads/main"}, {"commit", "0123456789abcdef"}, {"waiting_for", "app:v2"}}});
  s["git"][0]["last_error"] = "authentication failed";  // host up: a real failure
  s["helm"].push_back({{"repo", "charts.test/other"}, {"last_success", nullptr}, {"charts", 0}});
  s["releases"].push_back({{"name", "shop"},
                           {"version", "v2"},
                           {"state", "downloading"},
                           {"bytes_done", 50},
                           {"bytes_total", 200}});
  s["releases"].push_back({{"name", "shop"},
                           {"version", "v3"},
                           {"state", "failed"},
                           {"error", "signature does not verify"}});
  s["releases"].push_back(
      {{"name", "shop"}, {"version", "v0"}, {"state", "incomplete"}, {"blobs_missing", 2}});
  auto r = readiness(s);
  EXPECT_FALSE(r["ready"]);
  EXPECT_EQ(r["state"], "not-ready");
  std::vector<std::string> reasons = r["reasons"];
  std::vector<std::string> want = {
      "git git.test/org/app: refs/heads/main 0123456789ab waits for app:v2",
      "git git.test/org/app: last sync failed: authentication failed",
      "git git.test/org/new: no synced copy yet",
      "helm charts.test/other: no copy of the index yet",
      "release shop v2: downloading (25%)",
      "release shop v3: failed: signature does not verify",
      "release shop v0: 2 blobs missing"};
  EXPECT_EQ(reasons, want);
}

}  // namespace
}  // namespace outpost::status
