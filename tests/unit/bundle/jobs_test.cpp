#include "bundle/jobs.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../fakes/fake_http.hpp"
#include "../fakes/fake_site.hpp"
#include "bundle/artifact.hpp"
#include "bundle/bundle_manifest.hpp"
#include "bundle/import.hpp"
#include "bundle/tar_writer.hpp"
#include "config/config.hpp"
#include "registry/mirror.hpp"

namespace outpost::bundle {
namespace {
namespace fs = std::filesystem;
using testing::answer;

// Holds requests until opened (once; later calls do nothing).
class Gate {
 public:
  void open() {
    std::call_once(once_, [this] { opened_.set_value(); });
  }
  void pass() const { ready_.wait(); }

 private:
  std::promise<void> opened_;
  std::shared_future<void> ready_ = opened_.get_future().share();
  std::once_flag once_;
};

// A server of bundle files behind the fake HTTP seam: a URL answers with its bytes (with
// Content-Length), a Range request with the rest (206), and the first GET can be cut after some
// bytes (a dropped connection). With hold_, requests wait for gate_, which the fixture opens when
// it ends at the latest, so a failed assertion never leaves a job thread waiting.
class ReleaseJobsTest : public ::testing::Test {
 protected:
  ReleaseJobsTest() {
    site_.http.set(
        [this](const http::ClientRequest& r, http::BodySink* sink) { return serve(r, sink); });
    mirror_ = std::make_unique<registry::Mirror>(cfg_.registry, site_.store, site_.db, site_.http,
                                                 site_.metrics, site_.clock);
    jobs_ = std::make_unique<ReleaseJobs>(cfg_, site_.store, site_.db, site_.http, *mirror_,
                                          site_.clock);
  }
  ~ReleaseJobsTest() override {
    gate_.open();
    jobs_.reset();
    mirror_.reset();
  }

  Result<http::ClientResponse> serve(const http::ClientRequest& r, http::BodySink* sink) {
    if (hold_) gate_.pass();
    if (auto moved = redirects_.find(r.url); moved != redirects_.end())
      return answer(sink, 302, {{"Location", moved->second}}, "");
    auto it = files_.find(r.url);
    if (it == files_.end()) return answer(sink, 404, {}, "");
    const std::string& body = it->second;
    if (auto range = testing::header(r, "Range")) {
      auto from = std::stoull(range->substr(std::string_view("bytes=").size()));
      return answer(
          sink, 206,
          {{"Content-Range", fmt::format("bytes {}-{}/{}", from, body.size() - 1, body.size())},
           {"Content-Length", std::to_string(body.size() - from)}},
          body.substr(from));
    }
    std::optional<std::size_t> cut;
    if (auto n = cut_first_get_.exchange(0); n > 0) cut = n;
    return answer(sink, 200, {{"Content-Length", std::to_string(body.size())}}, body, cut);
  }

  // A bundle of release name/version carrying one blob, written as `outpost bundle create`
  // writes one (outpost-bundle.json first, then the OCI layout). The tar holds `carried` under the
  // blob's name: by default the blob itself; other bytes do not verify.
  std::string bundle(const std::string& name, const std::string& version,
                     std::optional<std::string> carried = std::nullopt) {
    BundleManifest bm;
    bm.name = name;
    bm.version = version;
    bm.created_at = "2026-01-01T00:00:00Z";
    bm.blobs.push_back({blob_digest_, blob_.size(), "", true});
    fs::create_directories(site_.dir.path() / "made");
    auto file = site_.dir.path() / "made" / (name + "-" + version + ".tar");
    auto tar = TarWriter::open(file).value();
    tar.add(kBundleJson, bm.to_json()).value();
    tar.add("oci-layout", R"({"imageLayoutVersion":"1.0.0"})").value();
    tar.add("index.json", R"({"schemaVersion":2,"manifests":[]})").value();
    tar.add("blobs/sha256/" + std::string(blob_digest_.hex()), carried.value_or(blob_)).value();
    tar.finish().value();
    std::ifstream in(file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }

  std::size_t gets(std::string_view url) const { return site_.http.count("GET", url); }

  bool recorded(const std::string& name, const std::string& version) {
    auto has = site_.db.has_release(name, version);
    return has && *has;
  }

  const std::string blob_ = [] {
    std::string s(200'000, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 7 % 251);
    return s;
  }();
  const Digest blob_digest_ = sha256_of(blob_);
  const std::string url_ = "https://bundles.test/shop-v1.tar";
  Config cfg_;
  testing::FakeSite site_;
  Gate gate_;
  std::atomic<bool> hold_{false};
  std::map<std::string, std::string> files_;      // written before start(), read by the job thread
  std::map<std::string, std::string> redirects_;  // URL → Location of a 302, like files_
  std::atomic<std::size_t> cut_first_get_{0};     // 0: no cut
  std::unique_ptr<registry::Mirror> mirror_;
  std::unique_ptr<ReleaseJobs> jobs_;
};

// The bundle's one blob and the release's artifact (manifest, config, outpost-bundle.json,
// oci-layout, index.json), which the release pins so it is re-served.
constexpr std::size_t kPinned = 6;

TEST_F(ReleaseJobsTest, AnHttpsBundleIsDownloadedVerifiedAndReady) {
  files_[url_] = bundle("shop", "v1");
  auto started = jobs_->start("shop", "v1", url_);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_NE(started->state, ReleaseState::ready);
  auto done = jobs_->wait("shop", "v1");
  EXPECT_EQ(done.state, ReleaseState::ready) << done.error;
  EXPECT_EQ(done.blobs, kPinned);
  EXPECT_EQ(done.blobs_missing, 0u);
  EXPECT_TRUE(site_.store.contains(blob_digest_));
  EXPECT_TRUE(recorded("shop", "v1"));
  EXPECT_EQ(gets(url_), 1u);
}

TEST_F(ReleaseJobsTest, TwoStartsOfTheSameReleaseShareOneJobAndOneDownload) {
  files_[url_] = bundle("shop", "v1");
  hold_ = true;  // the first job's download waits until the second start() has joined it
  auto first = jobs_->start("shop", "v1", url_);
  auto second = jobs_->start("shop", "v1", url_);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(second->state, ReleaseState::ready);
  EXPECT_NE(second->state, ReleaseState::failed);
  gate_.open();
  EXPECT_EQ(jobs_->wait("shop", "v1").state, ReleaseState::ready);
  EXPECT_EQ(gets(url_), 1u);
  EXPECT_EQ(jobs_->list().size(), 1u);
}

TEST_F(ReleaseJobsTest, ADownloadCutMidwayResumesWithRangeAndEndsReady) {
  files_[url_] = bundle("shop", "v1");
  const std::size_t cut = files_[url_].size() / 2;
  cut_first_get_ = cut;
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  auto done = jobs_->wait("shop", "v1");
  EXPECT_EQ(done.state, ReleaseState::ready) << done.error;
  auto reqs = site_.http.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_FALSE(testing::header(reqs[0], "Range"));
  EXPECT_EQ(testing::header(reqs[1], "Range"), fmt::format("bytes={}-", cut));
  EXPECT_TRUE(site_.store.contains(blob_digest_));  // the bytes before and after the cut, verified
}

TEST_F(ReleaseJobsTest, ABundleThatDoesNotVerifyFailsAndPublishesNothing) {
  std::string corrupt = blob_;
  corrupt[1000] ^= 0x01;
  files_[url_] = bundle("shop", "v1", corrupt);
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  auto done = jobs_->wait("shop", "v1");
  EXPECT_EQ(done.state, ReleaseState::failed);
  EXPECT_NE(done.error.find("corrupt"), std::string::npos) << done.error;
  EXPECT_NE(jobs_->status("shop", "v1").state, ReleaseState::ready);
  EXPECT_FALSE(recorded("shop", "v1"));
  EXPECT_FALSE(site_.store.contains(blob_digest_));
  EXPECT_TRUE(fs::is_empty(site_.store.tmp_dir()));
  // The file that failed verification is not kept for a resume: a retry downloads it afresh.
  EXPECT_TRUE(fs::is_empty(site_.store.tmp_dir().parent_path() / "downloads"));
}

TEST_F(ReleaseJobsTest, AFailedReleaseIsRetriedByTheNextStart) {
  files_[url_] = bundle("shop", "v1", "not the blob");
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  ASSERT_EQ(jobs_->wait("shop", "v1").state, ReleaseState::failed);
  files_[url_] = bundle("shop", "v1");
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  auto done = jobs_->wait("shop", "v1");
  EXPECT_EQ(done.state, ReleaseState::ready) << done.error;
  EXPECT_TRUE(done.error.empty()) << done.error;
  EXPECT_EQ(gets(url_), 2u);
}

TEST_F(ReleaseJobsTest, AJobThatCannotWriteItsDownloadFailsAndTheNextStartRunsANewJob) {
  files_[url_] = bundle("shop", "v1");
  // A file where the downloads directory goes: it cannot be created (as on a broken disk).
  const auto downloads = site_.store.tmp_dir().parent_path() / "downloads";
  std::ofstream(downloads) << "in the way";
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  auto failed = jobs_->wait("shop", "v1");
  EXPECT_EQ(failed.state, ReleaseState::failed);
  EXPECT_NE(failed.error.find(downloads.string()), std::string::npos) << failed.error;
  EXPECT_EQ(gets(url_), 0u);

  fs::remove(downloads);
  auto again = jobs_->start("shop", "v1", url_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->state, ReleaseState::failed);  // a new job, not the failed one
  auto done = jobs_->wait("shop", "v1");
  EXPECT_EQ(done.state, ReleaseState::ready) << done.error;
  EXPECT_TRUE(done.error.empty()) << done.error;
  EXPECT_EQ(gets(url_), 1u);
}

TEST_F(ReleaseJobsTest, AJobWhoseStepThrowsEndsFailedWithTheMessage) {
  files_[url_] = bundle("shop", "v1");
  site_.http.set([](const http::ClientRequest&, http::BodySink*) -> Result<http::ClientResponse> {
    throw std::runtime_error("No space left on device");
  });
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  auto failed = jobs_->wait("shop", "v1");
  EXPECT_EQ(failed.state, ReleaseState::failed);
  EXPECT_NE(failed.error.find("No space left on device"), std::string::npos) << failed.error;

  site_.http.set(
      [this](const http::ClientRequest& r, http::BodySink* sink) { return serve(r, sink); });
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  EXPECT_EQ(jobs_->wait("shop", "v1").state, ReleaseState::ready);
}

TEST_F(ReleaseJobsTest, ABundleOfAnotherReleaseFailsNamingBoth) {
  files_[url_] = bundle("shop", "v2");
  ASSERT_TRUE(jobs_->start("shop", "v1", url_));
  auto done = jobs_->wait("shop", "v1");
  EXPECT_EQ(done.state, ReleaseState::failed);
  EXPECT_NE(done.error.find("shop v2, not shop v1"), std::string::npos) << done.error;
  EXPECT_FALSE(recorded("shop", "v1"));
  EXPECT_FALSE(recorded("shop", "v2"));
}

TEST_F(ReleaseJobsTest, AReleaseCompleteInTheStoreIsReadyWithoutAnyRequest) {
  bundle("shop", "v1");
  NullProgress quiet;
  ASSERT_TRUE(import_bundle_file(site_.dir.path() / "made" / "shop-v1.tar", site_.store, site_.db,
                                 {}, quiet));
  auto st = jobs_->start("shop", "v1", url_);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->state, ReleaseState::ready);
  EXPECT_EQ(st->blobs, kPinned);
  EXPECT_EQ(jobs_->status("shop", "v1").state, ReleaseState::ready);
  EXPECT_TRUE(site_.http.requests().empty());
}

TEST_F(ReleaseJobsTest, ASourceOutsideTheAllowedSourcesIsForbidden) {
  cfg_.bundle.allowed_sources = {"https://bundles.test/releases/"};
  for (const char* source :
       {"https://bundles.test/other/shop-v1.tar", "https://evil.test/releases/shop-v1.tar",
        "/srv/bundles/shop-v1.tar"}) {
    auto r = jobs_->start("shop", "v1", source);
    ASSERT_FALSE(r) << source;
    EXPECT_EQ(r.error().code, Errc::forbidden) << source;
  }
  EXPECT_TRUE(jobs_->start("shop", "v1", "https://bundles.test/releases/shop-v1.tar"));
  jobs_->wait("shop", "v1");
}

TEST_F(ReleaseJobsTest, ARedirectOutOfTheAllowedSourcesIsNeverFollowed) {
  cfg_.bundle.allowed_sources = {"https://bundles.test/releases/"};
  redirects_["https://bundles.test/releases/shop-v1.tar"] = "https://evil.test/shop-v1.tar";
  files_["https://evil.test/shop-v1.tar"] = bundle("shop", "v1");
  ASSERT_TRUE(jobs_->start("shop", "v1", "https://bundles.test/releases/shop-v1.tar"));
  auto st = jobs_->wait("shop", "v1");
  EXPECT_EQ(st.state, ReleaseState::failed);
  EXPECT_NE(st.error.find("outside bundle.allowed_sources"), std::string::npos) << st.error;
  EXPECT_EQ(gets("https://evil.test/shop-v1.tar"), 0u);
  EXPECT_FALSE(recorded("shop", "v1"));
}

TEST_F(ReleaseJobsTest, AReleaseFileNamesOnlyAllowedSources) {
  files_[url_] = bundle("shop", "v1");
  auto r = jobs_->start("shop", "v1", url_, SourceFrom::release_file);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::forbidden);
  EXPECT_NE(r.error().message.find("bundle.allowed_sources"), std::string::npos);
  EXPECT_EQ(gets(url_), 0u);
  cfg_.bundle.allowed_sources = {"https://bundles.test/"};
  ASSERT_TRUE(jobs_->start("shop", "v1", url_, SourceFrom::release_file));
  EXPECT_EQ(jobs_->wait("shop", "v1").state, ReleaseState::ready);
}

TEST_F(ReleaseJobsTest, ASourceWithUserinfoIsInvalid) {
  auto r = jobs_->start("shop", "v1", "https://bundles.test@evil.test/shop-v1.tar");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST_F(ReleaseJobsTest, ALocalPathIsForbiddenWhenNoSourcesAreConfigured) {
  auto r = jobs_->start("shop", "v1", "/srv/bundles/shop-v1.tar");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::forbidden);
  EXPECT_EQ(jobs_->status("shop", "v1").state, ReleaseState::unknown);
}

TEST_F(ReleaseJobsTest, BadNamesVersionsAndSourcesAreInvalidArguments) {
  struct Case {
    std::string name, version, source;
  };
  const std::vector<Case> cases = {
      {"", "v1", url_},
      {"shop", "", url_},
      {"-shop", "v1", url_},
      {"shop", ".v1", url_},
      {"../shop", "v1", url_},
      {"shop/x", "v1", url_},
      {"shop", "v1 x", url_},
      {std::string(129, 'a'), "v1", url_},
      {"shop", "v1", "ftp://bundles.test/shop-v1.tar"},
      {"shop", "v1", "shop-v1.tar"},
      {"shop", "v1", "https://bundles.test/a/../shop-v1.tar"},
      {"shop", "v1", std::string("/srv/shop\0.tar", 14)},
  };
  for (const auto& c : cases) {
    auto r = jobs_->start(c.name, c.version, c.source);
    ASSERT_FALSE(r) << c.name << " " << c.version << " " << c.source;
    EXPECT_EQ(r.error().code, Errc::invalid_argument)
        << c.name << " " << c.version << " " << c.source;
  }
  EXPECT_TRUE(site_.http.requests().empty());
  EXPECT_TRUE(jobs_->list().empty());
}

TEST_F(ReleaseJobsTest, AnOciSourceOutsideTheConfiguredRegistriesIsRefusedWithoutDialling) {
  auto r = jobs_->start("shop", "v1", "oci://evil.test/bundles/shop:v1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("registry.upstreams"), std::string::npos) << r.error().message;
  EXPECT_TRUE(site_.http.requests().empty());
}

TEST_F(ReleaseJobsTest, AnImportedReleaseIsServedAsItsArtifactUntilRetentionDropsIt) {
  bundle("shop", "v1");
  bundle("shop", "v2");
  NullProgress quiet;
  const auto made = site_.dir.path() / "made";
  ASSERT_TRUE(import_bundle_file(made / "shop-v1.tar", site_.store, site_.db, {}, quiet));
  registry::Route v1{registry::Kind::manifest,
                     std::string(registry::kReleasesNamespace),
                     "shop",
                     "shop",
                     "v1",
                     std::nullopt};
  auto m = mirror_->manifest(v1);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, kArtifactManifestType);
  auto j = nlohmann::json::parse(m->bytes);
  EXPECT_EQ(j["artifactType"], kBundleArtifactType);
  std::vector<std::string> titles;
  for (const auto& l : j["layers"]) {
    titles.push_back(l["annotations"][kTitleAnnotation]);
    auto d = Digest::parse(l["digest"].get<std::string>());
    ASSERT_TRUE(d && site_.store.contains(*d)) << l.dump();
  }
  EXPECT_EQ(titles, (std::vector<std::string>{kBundleJson, "oci-layout", "index.json",
                                              "blobs/sha256/" + std::string(blob_digest_.hex())}));
  EXPECT_TRUE(site_.http.requests().empty());  // local: no upstream is asked

  ImportPolicy keep_one;
  keep_one.keep_releases = 1;
  ASSERT_TRUE(import_bundle_file(made / "shop-v2.tar", site_.store, site_.db, keep_one, quiet));
  auto gone = mirror_->manifest(v1);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  auto tags = mirror_->tags(v1, std::nullopt, "");
  ASSERT_TRUE(tags) << tags.error().message;
  EXPECT_EQ(tags->tags, std::vector<std::string>{"v2"});
}

}  // namespace
}  // namespace outpost::bundle
