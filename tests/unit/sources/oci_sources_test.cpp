#include "sources/oci_sources.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <thread>

#include "../fakes/fake_site.hpp"
#include "../fakes/tgz.hpp"
#include "bundle/source_artifact.hpp"
#include "sources/metric_defs.hpp"

namespace outpost::sources {
namespace {
using testing::answer;
using json = nlohmann::json;

constexpr auto kOci = "application/vnd.oci.image.manifest.v1+json";

// A registry behind the fake HTTP seam: manifests by tag and digest, blobs, tag lists, for
// repositories of host up.test; and two notify receivers that record what they get.
class FakeRegistry {
 public:
  std::string blob(const std::string& bytes) {
    std::lock_guard lock(mu_);
    blobs_[sha256_of(bytes).str()] = bytes;
    return sha256_of(bytes).str();
  }
  Digest manifest(const std::string& repo, const std::string& tag, const std::string& bytes) {
    std::lock_guard lock(mu_);
    auto d = sha256_of(bytes);
    manifests_[repo + "@" + d.str()] = bytes;
    if (!tag.empty()) tags_[repo][tag] = d.str();
    return d;
  }
  // An image of one layer whose bytes say which it is.
  Digest image(const std::string& repo, const std::string& tag) {
    auto layer = repo + ":" + tag;
    json m = {{"schemaVersion", 2},
              {"mediaType", kOci},
              {"config",
               {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                {"digest", blob("{}")},
                {"size", 2}}},
              {"layers",
               {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                 {"digest", blob(layer)},
                 {"size", layer.size()}}}}};
    return manifest(repo, tag, m.dump());
  }
  // A manifests artifact whose Deployment runs `images`.
  Digest release(const std::string& tag, const std::vector<std::string>& images) {
    std::string yaml =
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n";
    for (const auto& i : images) yaml += "        - image: " + i + "\n";
    auto content = testing::tgz({{"deploy.yaml", yaml}});
    json m = {
        {"schemaVersion", 2},
        {"mediaType", kOci},
        {"artifactType", "application/vnd.argoproj.manifests"},
        {"config",
         {{"mediaType", "application/vnd.oci.empty.v1+json"}, {"digest", blob("{}")}, {"size", 2}}},
        {"layers",
         {{{"mediaType", bundle::kOciLayerTarGzip},
           {"digest", blob(content)},
           {"size", content.size()}}}}};
    return manifest("acme/manifests", tag, m.dump());
  }
  void untag(const std::string& repo, const std::string& tag) {
    std::lock_guard lock(mu_);
    tags_[repo].erase(tag);
  }
  void retag(const std::string& repo, const std::string& tag, const Digest& d) {
    std::lock_guard lock(mu_);
    tags_[repo][tag] = d.str();
  }
  std::vector<json> posts(const std::string& url) {
    std::lock_guard lock(mu_);
    return posts_[url];
  }
  std::atomic<bool> down{false};
  void flux_fails(int n) {
    std::lock_guard lock(mu_);
    flux_fails_ = n;
  }

  Result<http::ClientResponse> serve(const http::ClientRequest& r, http::BodySink* sink) {
    std::lock_guard lock(mu_);
    if (r.method == "POST") {
      posts_[r.url].push_back({{"body", json::parse(r.body)}, {"headers", r.headers}});
      if (r.url.find("flux") != std::string::npos && flux_fails_ > 0) {
        --flux_fails_;
        return answer(sink, 503, {}, "");
      }
      return answer(sink, 200, {}, "");
    }
    if (down) return fail(Errc::upstream_unavailable, "Couldn't connect to server");
    const std::string prefix = "http://up.test/v2/";
    auto path = r.url.substr(prefix.size(), r.url.find('?') - prefix.size());
    for (const std::string repo : {"acme/manifests", "acme/app"}) {
      if (!path.starts_with(repo + "/")) continue;
      auto rest = path.substr(repo.size() + 1);
      if (rest == "tags/list") {
        json tags = json::array();
        for (const auto& [t, d] : tags_[repo]) tags.push_back(t);
        return answer(sink, 200, {}, json{{"name", repo}, {"tags", tags}}.dump());
      }
      if (rest.starts_with("manifests/")) {
        auto ref = rest.substr(10);
        if (tags_[repo].contains(ref)) ref = tags_[repo][ref];
        auto it = manifests_.find(repo + "@" + ref);
        if (it == manifests_.end()) return answer(sink, 404, {}, R"({"errors":[]})");
        return answer(sink, 200, {{"Content-Type", kOci}, {"Docker-Content-Digest", ref}},
                      r.method == "HEAD" ? "" : it->second);
      }
      if (rest.starts_with("blobs/")) {
        auto it = blobs_.find(rest.substr(6));
        if (it == blobs_.end()) return answer(sink, 404, {}, "");
        return answer(sink, 200, {{"Content-Length", std::to_string(it->second.size())}},
                      r.method == "HEAD" ? "" : it->second);
      }
    }
    return answer(sink, 404, {}, R"({"errors":[]})");
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> blobs_, manifests_;
  std::map<std::string, std::map<std::string, std::string>> tags_;
  std::map<std::string, std::vector<json>> posts_;
  int flux_fails_ = 0;
};

class OciSourcesTest : public ::testing::Test {
 protected:
  OciSourcesTest() {
    reg_.default_upstream = "up.test";
    reg_.upstreams = {{"up.test", "http://up.test", "", "", true, {}}};
    OciSourceConfig src;
    src.repository = "up.test/acme/manifests";
    src.follow = {"stable", ">=1.4.0 <2.0.0"};
    src.keep = 3;
    src.notify = {{SourceNotifyConfig::Kind::argocd, "http://argocd.test/api/webhook", "s3cret"},
                  {SourceNotifyConfig::Kind::flux, "http://flux.test/hook/abc", "token"}};
    cfg_.oci = {src};
    site_.http.set(
        [this](const http::ClientRequest& r, http::BodySink* s) { return up_.serve(r, s); });
    up_.image("acme/app", "v4");
    up_.image("acme/app", "v5");
    up_.release("1.4.0", {"up.test/acme/app:v4"});
    auto v5 = up_.release("1.5.0", {"up.test/acme/app:v5"});
    up_.retag("acme/manifests", "stable", v5);
    start();
  }
  ~OciSourcesTest() override { stop(); }
  void start() {
    mirror_ = std::make_unique<registry::Mirror>(reg_, site_.store, site_.db, site_.http,
                                                 site_.metrics, site_.clock);
    sources_ = std::make_unique<OciSources>(
        SourcesDeps{cfg_, reg_, "outpost.test:8080", *mirror_, site_.store, site_.db, site_.http,
                    site_.metrics, site_.dir.path() / "oci-sources.json",
                    std::chrono::milliseconds(1)},
        site_.clock);
    mirror_->set_sources(sources_.get());
  }
  void stop() {
    sources_.reset();
    mirror_.reset();
  }
  registry::Route route(const std::string& tag) {
    registry::Route r;
    r.kind = registry::Kind::manifest;
    r.upstream = "up.test";
    r.repo = "acme/manifests";
    r.tag = tag;
    return r;
  }
  std::vector<std::string> listed() {
    registry::Route r = route("");
    r.kind = registry::Kind::tags;
    auto page = mirror_->tags(r, std::nullopt, "");
    EXPECT_TRUE(page) << page.error().message;
    return page ? page->tags : std::vector<std::string>{};
  }
  Digest resolves(const std::string& tag) {
    auto m = mirror_->manifest(route(tag));
    EXPECT_TRUE(m) << tag << ": " << m.error().message;
    return m ? m->digest : Digest::from_hex(std::string(64, '0'));
  }

  testing::FakeSite site_;
  FakeRegistry up_;
  RegistryConfig reg_;
  SourcesConfig cfg_;
  std::unique_ptr<registry::Mirror> mirror_;
  std::unique_ptr<OciSources> sources_;
};

TEST_F(OciSourcesTest, AdvertisesANewVersionOnlyOnceItsImagesAreLocal) {
  sources_->check(0);
  const auto v5 = resolves("1.5.0");
  EXPECT_EQ(resolves("stable"), v5);
  EXPECT_EQ(listed(), (std::vector<std::string>{"1.4.0", "1.5.0", "stable"}));

  auto v6 = up_.release("1.6.0", {"up.test/acme/app:v6"});  // its image is not pushed yet
  up_.retag("acme/manifests", "stable", v6);
  EXPECT_FALSE(mirror_->manifest(route("1.6.0")));  // unlisted at the last check: held
  sources_->check(0);
  EXPECT_EQ(listed(), (std::vector<std::string>{"1.4.0", "1.5.0", "stable"}));
  EXPECT_EQ(resolves("stable"), v5);
  auto held = mirror_->manifest(route("1.6.0"));
  ASSERT_FALSE(held);
  EXPECT_NE(held.error().message.find("acme/app:v6"), std::string::npos) << held.error().message;
  auto st = sources_->status()["oci"][0];
  EXPECT_EQ(st["advertised_version"], "1.5.0");
  EXPECT_EQ(st["newest_upstream"], "1.6.0");
  EXPECT_EQ(st["held"].size(), 2u);  // 1.6.0, and stable's move to it
  // Asked by digest, it is never hidden.
  registry::Route by_digest = route("");
  by_digest.digest = v6;
  EXPECT_TRUE(mirror_->manifest(by_digest));

  up_.image("acme/app", "v6");
  sources_->check(0);
  EXPECT_EQ(listed(), (std::vector<std::string>{"1.4.0", "1.5.0", "1.6.0", "stable"}));
  EXPECT_EQ(resolves("stable"), v6);
  EXPECT_EQ(resolves("1.6.0"), v6);
}

TEST_F(OciSourcesTest, TellsArgoCdAndFluxWhatIsAdvertisedAnew) {
  sources_->check(0);  // the first check advertises what there is, and tells nobody
  sources_->wait_notifications();
  EXPECT_TRUE(up_.posts("http://argocd.test/api/webhook").empty());
  up_.image("acme/app", "v6");
  up_.release("1.6.0", {"up.test/acme/app:v6"});
  sources_->check(0);
  sources_->wait_notifications();
  auto argo = up_.posts("http://argocd.test/api/webhook");
  ASSERT_EQ(argo.size(), 1u);
  const auto& body = argo[0]["body"];
  EXPECT_EQ(body["type"], "PUSH_ARTIFACT");
  EXPECT_EQ(body["event_data"]["repository"]["repo_full_name"], "up.test/acme/manifests");
  EXPECT_EQ(body["event_data"]["resources"][0]["tag"], "1.6.0");
  EXPECT_EQ(body["event_data"]["resources"][0]["resource_url"],
            "outpost.test:8080/up.test/acme/manifests:1.6.0");
  bool authorized = false;
  for (const auto& h : argo[0]["headers"])
    authorized |= h[0] == "Authorization" && h[1] == "s3cret";
  EXPECT_TRUE(authorized);
  auto flux = up_.posts("http://flux.test/hook/abc");
  ASSERT_EQ(flux.size(), 1u);
  EXPECT_EQ(flux[0]["body"]["tag"], "1.6.0");
  EXPECT_EQ(flux[0]["body"]["url"], "oci://outpost.test:8080/up.test/acme/manifests");
  bool signed_ = false;
  for (const auto& h : flux[0]["headers"])
    signed_ |= h[0] == "X-Signature" && h[1].get<std::string>().starts_with("sha256=");
  EXPECT_TRUE(signed_);
  auto st = sources_->status()["oci"][0]["notifications"];
  EXPECT_EQ(st[0]["sent"], 1);
  EXPECT_EQ(st[1]["sent"], 1);
}

TEST_F(OciSourcesTest, AReceiverThatFailsIsRetriedThenGivenUpAndTheStatusSaysSo) {
  sources_->check(0);
  up_.flux_fails(2);  // two failures, then it answers
  up_.image("acme/app", "v6");
  up_.release("1.6.0", {"up.test/acme/app:v6"});
  sources_->check(0);
  sources_->wait_notifications();
  auto st = sources_->status()["oci"][0]["notifications"][1];
  EXPECT_EQ(st["sent"], 1);
  EXPECT_EQ(st["retried"], 2);
  EXPECT_EQ(st["failed"], 0);
  EXPECT_EQ(up_.posts("http://flux.test/hook/abc").size(), 3u);
  up_.flux_fails(100);  // never again
  up_.release("1.7.0", {"up.test/acme/app:v6"});
  sources_->check(0);
  sources_->wait_notifications();
  st = sources_->status()["oci"][0]["notifications"][1];
  EXPECT_EQ(st["failed"], 1);
  EXPECT_EQ(st["pending"], 0);
  EXPECT_EQ(st["last_error"], "HTTP 503");
  EXPECT_EQ(up_.posts("http://flux.test/hook/abc").size(), 3u + 8u);  // 8 attempts in all
  EXPECT_EQ(
      site_.metrics.counter(metric::notifications_total)
          .value({{"source", "up.test/acme/manifests"}, {"kind", "flux"}, {"result", "failed"}}),
      1);
}

TEST_F(OciSourcesTest, ManyPollersOfAFollowedTagCostTheOriginNothingBetweenChecks) {
  sources_->check(0);
  const auto heads = site_.http.count("HEAD", "/manifests/stable");
  const auto lists = site_.http.count("GET", "/tags/list");
  EXPECT_EQ(heads, 1u);
  std::vector<std::jthread> pollers;
  for (int i = 0; i < 20; ++i)
    pollers.emplace_back([this] {
      for (int k = 0; k < 10; ++k) {
        (void)mirror_->manifest(route("stable"));
        (void)listed();
      }
    });
  pollers.clear();
  EXPECT_EQ(site_.http.count("HEAD", "/manifests/stable"), heads);
  EXPECT_EQ(site_.http.count("GET", "/manifests/stable"), 0u);
  EXPECT_EQ(site_.http.count("GET", "/tags/list"), lists);
  sources_->check(0);
  EXPECT_EQ(site_.http.count("HEAD", "/manifests/stable"), heads + 1);
}

TEST_F(OciSourcesTest, ServesWhatItAdvertisedOfflineAcrossARestart) {
  sources_->check(0);
  const auto v5 = resolves("stable");
  stop();
  up_.down = true;
  start();
  EXPECT_EQ(resolves("stable"), v5);
  EXPECT_TRUE(mirror_->manifest(route("1.4.0")));
  EXPECT_EQ(listed(), (std::vector<std::string>{"1.4.0", "1.5.0", "stable"}));
  sources_->check(0);  // unreachable: the snapshot stays, marked as such
  registry::Route r = route("");
  r.kind = registry::Kind::tags;
  auto page = mirror_->tags(r, 2, "");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->tags, (std::vector<std::string>{"1.4.0", "1.5.0"}));
  EXPECT_TRUE(page->more);
  EXPECT_NE(page->warning.find("could not be listed"), std::string::npos);
  EXPECT_FALSE(sources_->status()["oci"][0]["upstream_reachable"]);
}

TEST_F(OciSourcesTest, KeepsTheNewestVersionsPinnedWithTheirImages) {
  sources_->check(0);
  up_.image("acme/app", "v6");
  up_.image("acme/app", "v7");
  up_.release("1.6.0", {"up.test/acme/app:v6"});
  sources_->check(0);
  up_.release("1.7.0", {"up.test/acme/app:v7"});
  sources_->check(0);
  std::vector<std::string> kept;
  auto rows = site_.db.releases();
  ASSERT_TRUE(rows);
  for (const auto& r : *rows)
    if (r.name == "source:up.test/acme/manifests") kept.push_back(r.version);
  std::ranges::sort(kept);
  EXPECT_EQ(kept, (std::vector<std::string>{"1.5.0", "1.6.0", "1.7.0"}));
  auto pinned = site_.db.pinned_tag("up.test", "acme/app", "v6");
  ASSERT_TRUE(pinned && *pinned);
}

TEST_F(OciSourcesTest, PinsTheFollowedTagAndForgetsVersionsGoneUpstreamAndNoLongerKept) {
  sources_->check(0);
  auto pinned = site_.db.pinned_tag("up.test", "acme/app", "v5");  // stable's image
  ASSERT_TRUE(pinned && *pinned);
  auto rows = site_.db.releases();
  ASSERT_TRUE(rows);
  EXPECT_TRUE(std::ranges::any_of(*rows, [](const auto& r) {
    return r.name == "source-tags:up.test/acme/manifests" && r.version == "stable";
  }));
  for (const char* v : {"1.6.0", "1.7.0", "1.8.0"}) up_.release(v, {"up.test/acme/app:v5"});
  up_.untag("acme/manifests", "1.4.0");
  sources_->check(0);
  auto versions = sources_->status()["oci"][0]["versions"];
  for (const auto& v : versions) EXPECT_NE(v["tag"], "1.4.0");
  EXPECT_EQ(listed(), (std::vector<std::string>{"1.5.0", "1.6.0", "1.7.0", "1.8.0", "stable"}));
}

TEST_F(OciSourcesTest, WithGateNoneAnyArtifactIsAdvertisedAtOnce) {
  stop();
  cfg_.oci[0].repository = "up.test/acme/app";  // plain images: no content layer to read
  cfg_.oci[0].follow = {"v5"};
  cfg_.oci[0].gate = SourceGate::none;
  start();
  sources_->check(0);
  registry::Route r = route("v5");
  r.repo = "acme/app";
  auto m = mirror_->manifest(r);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(sources_->status()["oci"][0]["advertised"]["v5"]["digest"], m->digest.str());
}

TEST_F(OciSourcesTest, WhatTheConfigNoLongerFollowsIsAnsweredAsUsual) {
  sources_->check(0);
  const auto v5 = resolves("stable");
  stop();
  up_.retag("acme/manifests", "stable", up_.release("1.6.0", {"up.test/acme/app:v6"}));
  cfg_.oci[0].follow = {">=1.5.0 <2.0.0"};  // stable and 1.4.0 are no longer followed
  start();
  auto now = resolves("stable");  // pulled through as any tag: upstream's current digest
  EXPECT_NE(now, v5);
  auto st = sources_->status()["oci"][0];
  EXPECT_TRUE(st["advertised"].empty());
  for (const auto& v : st["versions"]) EXPECT_NE(v["tag"], "1.4.0");
}

TEST_F(OciSourcesTest, AContentLayerDeclaredTooLargeIsHeldWithoutBeingFetched) {
  sources_->check(0);
  const auto layer = up_.blob("not really 100 MiB");
  json m = {{"schemaVersion", 2},
            {"mediaType", kOci},
            {"config",
             {{"mediaType", "application/vnd.oci.empty.v1+json"},
              {"digest", up_.blob("{}")},
              {"size", 2}}},
            {"layers",
             {{{"mediaType", bundle::kOciLayerTarGzip}, {"digest", layer}, {"size", 100 << 20}}}}};
  up_.manifest("acme/manifests", "1.6.0", m.dump());
  sources_->check(0);
  auto held = mirror_->manifest(route("1.6.0"));
  ASSERT_FALSE(held);
  EXPECT_NE(held.error().message.find("over 64 MiB"), std::string::npos) << held.error().message;
  EXPECT_EQ(site_.http.count("GET", "/blobs/" + layer), 0u);
}

}  // namespace
}  // namespace outpost::sources
