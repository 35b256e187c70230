// The shared bucket's GC and orphan sweep, with fakes at the SQL seam (the ledger) and the HTTP
// seam (S3).
#include "tier/bucket_gc.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "../fakes/fake_http.hpp"
#include "core/digest.hpp"

namespace outpost::tier {
namespace {

using testing::FakeHttp;

// The database's side: objects with a mark, a leader's lock another holder can take.
class FakeLedger final : public BucketGcLedger {
 public:
  struct Object {
    std::uint64_t size;
    bool live;
    std::optional<UnixSeconds> unreferenced_since;
  };
  std::map<std::string, Object> objects;  // by hex
  bool held_elsewhere = false;
  std::string cursor;
  std::vector<std::string> cursors_saved;

  Result<std::unique_ptr<Lease>> lead() override {
    if (held_elsewhere) return std::unique_ptr<Lease>();
    return std::unique_ptr<Lease>(std::make_unique<Lease>());
  }
  Result<Swept> sweep(UnixSeconds now, UnixSeconds cutoff, std::size_t limit,
                      bool dry_run) override {
    Swept out;
    for (auto& [hex, o] : objects) {
      if (o.live) {
        ++out.live;
        if (o.unreferenced_since) ++out.referenced_again;
        o.unreferenced_since.reset();
      } else if (!o.unreferenced_since) {
        o.unreferenced_since = now;
        ++out.newly_unreferenced;
      }
    }
    for (auto it = objects.begin(); it != objects.end() && out.forgotten.size() < limit;) {
      auto& o = it->second;
      if (!o.live && *o.unreferenced_since <= cutoff) {
        out.forgotten.push_back({Digest::from_hex(it->first), o.size});
        if (!dry_run) {
          it = objects.erase(it);
          continue;
        }
      }
      ++it;
    }
    return out;
  }
  Result<Unknown> unknown(
      const std::vector<std::pair<std::string, std::uint64_t>>& listed) override {
    Unknown out;
    for (const auto& [hex, size] : listed)
      if (!objects.contains(hex)) out.orphans.push_back(hex);
    return out;
  }
  Result<std::string> sweep_cursor() override { return cursor; }
  Result<void> set_sweep_cursor(const std::string& after) override {
    cursor = after;
    cursors_saved.push_back(after);
    return {};
  }
};

std::string hex_of(int i) {
  return std::string(sha256_of(std::to_string(i)).hex());
}

struct BucketGcTest : ::testing::Test {
  S3Config cfg = [] {
    S3Config c;
    c.endpoint = "http://127.0.0.1:7480";
    c.bucket = "outpost-hub";
    c.access_key = "AK";
    c.secret_key = "SK";
    c.insecure = true;
    return c;
  }();
  FakeHttp http;
  Metrics metrics;
  s3::Client s3{cfg, http, metrics};
  FakeLedger ledger;
  std::vector<std::size_t> deletes;  // keys per DeleteObjects request
  std::set<std::string> in_bucket;   // hex

  void SetUp() override {
    http.set([this](const http::ClientRequest& req, http::BodySink*) {
      http::ClientResponse r;
      r.status = 200;
      if (req.method == "POST" && req.url.find("?delete") != std::string::npos) {
        std::size_t n = 0;
        for (auto p = req.body.find("<Key>"); p != std::string::npos;
             p = req.body.find("<Key>", p + 1)) {
          in_bucket.erase(req.body.substr(p + 5 + 13, 64));  // after "blobs/sha256/"
          ++n;
        }
        deletes.push_back(n);
        r.body = "<DeleteResult></DeleteResult>";
      } else if (req.method == "GET") {
        r.body = list_page(req.url);
      }
      return r;
    });
  }
  // A ListObjectsV2 page of 1,000 keys after start-after (no LastModified: as old as can be).
  std::string list_page(const std::string& url) {
    std::string after;
    if (auto p = url.find("start-after="); p != std::string::npos) {
      after = url.substr(p + 12);
      after = after.substr(after.rfind("%2F") + 3, 64);
    }
    std::string body = "<ListBucketResult>";
    std::size_t n = 0;
    bool more = false;
    for (const auto& hex : in_bucket) {
      if (!after.empty() && hex <= after) continue;
      if (n == 1000) {
        more = true;
        break;
      }
      body += "<Contents><Key>blobs/sha256/" + hex + "</Key><Size>5</Size></Contents>";
      ++n;
    }
    body += std::string("<IsTruncated>") + (more ? "true" : "false") + "</IsTruncated>";
    if (more) body += "<NextContinuationToken>t</NextContinuationToken>";
    return body + "</ListBucketResult>";
  }
};

TEST_F(BucketGcTest, OnlyObjectsUnreferencedPastTheGraceGoAndInBatchesOfAThousand) {
  for (int i = 0; i < 2500; ++i) {
    ledger.objects[hex_of(i)] = {5, i < 100, std::nullopt};  // the first 100 are live
    in_bucket.insert(hex_of(i));
  }
  auto first = collect_bucket(ledger, s3, {std::chrono::hours(24)}, {});
  ASSERT_TRUE(first && first->led);
  EXPECT_EQ(first->newly_unreferenced, 2400u);
  EXPECT_EQ(first->deleted, 0u) << "within the grace period nothing goes";
  EXPECT_TRUE(deletes.empty());

  auto second = collect_bucket(ledger, s3, {std::chrono::seconds(0)}, {});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->deleted, 2400u);
  EXPECT_EQ(second->deleted_bytes, 2400u * 5);
  EXPECT_EQ(deletes, (std::vector<std::size_t>{1000, 1000, 400}));
  EXPECT_EQ(in_bucket.size(), 100u);
  EXPECT_EQ(ledger.objects.size(), 100u) << "records forgotten with their objects";
}

TEST_F(BucketGcTest, ADryRunReportsAndDeletesNothing) {
  for (int i = 0; i < 3; ++i) {
    ledger.objects[hex_of(i)] = {5, i == 0, std::nullopt};
    in_bucket.insert(hex_of(i));
  }
  auto r = collect_bucket(ledger, s3, {std::chrono::seconds(0), true}, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deleted, 2u);
  EXPECT_TRUE(deletes.empty());
  EXPECT_EQ(ledger.objects.size(), 3u);
}

TEST_F(BucketGcTest, AnotherLeaderMeansNothingIsDone) {
  ledger.objects[hex_of(1)] = {5, false, 0};
  ledger.held_elsewhere = true;
  auto r = collect_bucket(ledger, s3, {std::chrono::seconds(0)}, {});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->led);
  EXPECT_EQ(ledger.objects.size(), 1u);
  auto o = sweep_orphans(ledger, s3, {std::chrono::seconds(0), true}, {});
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->led);
}

TEST_F(BucketGcTest, OrphansAreReportedFirstAndADeletingSweepSavesItsPlaceAndResumes) {
  for (int i = 0; i < 2300; ++i) {
    in_bucket.insert(hex_of(i));
    if (i % 2 == 0) ledger.objects[hex_of(i)] = {5, true, std::nullopt};  // half are recorded
  }
  auto report = sweep_orphans(ledger, s3, {std::chrono::seconds(0), false}, {});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->listed, 2300u);
  EXPECT_EQ(report->orphans.size(), 1150u);
  EXPECT_EQ(report->deleted, 0u);
  EXPECT_TRUE(deletes.empty());
  EXPECT_TRUE(ledger.cursors_saved.empty()) << "a report writes nothing";

  // A deleting sweep interrupted after its first page resumes after it.
  const auto resumed_from = *std::next(in_bucket.begin(), 999);
  ledger.cursor = "blobs/sha256/" + resumed_from;
  std::size_t orphans_after = 0;
  for (const auto& hex : in_bucket)
    orphans_after += hex > resumed_from && !ledger.objects.contains(hex);
  auto del = sweep_orphans(ledger, s3, {std::chrono::seconds(0), true}, {});
  ASSERT_TRUE(del);
  EXPECT_EQ(del->resumed_after, "blobs/sha256/" + resumed_from);
  EXPECT_EQ(del->listed, 1300u);
  EXPECT_EQ(del->deleted, orphans_after);
  ASSERT_EQ(ledger.cursors_saved.size(), 2u) << "its place after the first page, then the end";
  EXPECT_GT(ledger.cursors_saved[0], "blobs/sha256/" + resumed_from);
  EXPECT_EQ(ledger.cursors_saved[1], "");
  EXPECT_EQ(ledger.cursor, "") << "finished: the next sweep starts from the beginning";
  for (const auto& hex : in_bucket)
    EXPECT_TRUE(ledger.objects.contains(hex) || hex <= resumed_from) << hex;
}

}  // namespace
}  // namespace outpost::tier
