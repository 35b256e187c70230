// MetaDb as a hub replica: sharing through the database (a fake at the SQL seam), with its own
// file as the local read copy.
#include <gtest/gtest.h>

#include <thread>

#include "../fakes/fake_shared_meta.hpp"
#include "../fakes/temp_dir.hpp"
#include "store/meta_db.hpp"

namespace outpost {
namespace {

using testing::FakeSharedMeta;
using testing::TempDir;
using namespace std::chrono_literals;

struct MetaShareTest : ::testing::Test {
  TempDir dir;
  FakeSharedMeta shared;
  MetaDb a{dir.path() / "a.db"};
  MetaDb b{dir.path() / "b.db"};
  void SetUp() override {
    a.share_with(shared, 1h);
    b.share_with(shared, 1h);
  }
};

TEST_F(MetaShareTest, ATagOneReplicaResolvedIsServedByAnotherAndByItsCopyWhenTheDatabaseIsDown) {
  auto d = sha256_of("m1");
  ASSERT_TRUE(a.put_manifest(d, "application/vnd.oci.image.manifest.v1+json", 10));
  ASSERT_TRUE(a.put_tag("up", "app", "v1", d, 100));
  auto t = b.tag("up", "app", "v1");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->digest, d);
  EXPECT_EQ((*t)->checked_at, 100);
  auto m = b.manifest(d);
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->media_type, "application/vnd.oci.image.manifest.v1+json");

  shared.down = true;
  t = b.tag("up", "app", "v1");
  ASSERT_TRUE(t && *t) << "the local read copy answers";
  EXPECT_EQ((*t)->digest, d);
  EXPECT_TRUE(*b.manifest(d));
  auto st = b.sharing();
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->up);
  EXPECT_TRUE(st->down_since);
  EXPECT_NE(st->last_error.find("connection refused"), std::string::npos);
}

TEST_F(MetaShareTest,
       WhileTheDatabaseIsDownWritesAreServedHereCountedAndTheDatabaseIsNotAskedAgain) {
  shared.down = true;
  auto d = sha256_of("m2");
  ASSERT_TRUE(b.put_tag("up", "app", "new", d, 200)) << "a database down never fails a request";
  const int calls = shared.calls;
  ASSERT_TRUE(b.put_tag("up", "app", "newer", d, 201));
  auto t = b.tag("up", "app", "new");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ(shared.calls, calls) << "within retry_after the database is not asked";
  EXPECT_EQ(b.sharing()->unshared_writes, 2u);
  EXPECT_TRUE(shared.tags.empty());
}

TEST_F(MetaShareTest, AStatementTheDatabaseRefusedFailsAloneAndTheNextWriteIsShared) {
  shared.refuse = true;
  auto d = sha256_of("m4");
  ASSERT_TRUE(b.put_tag("up", "app", "a", d, 1));
  EXPECT_TRUE(b.sharing()->up) << "the database answered: it is not down";
  EXPECT_EQ(b.sharing()->unshared_writes, 1u);
  shared.refuse = false;
  ASSERT_TRUE(b.put_tag("up", "app", "b", d, 2));
  EXPECT_EQ(shared.tags.size(), 1u) << "the next write went to the database at once";
}

TEST_F(MetaShareTest, TheDatabaseIsAskedAgainAfterRetryAfterAndItsRecoveryShows) {
  MetaDb c(dir.path() / "c.db");
  c.share_with(shared, 20ms);
  shared.down = true;
  auto d = sha256_of("m3");
  ASSERT_TRUE(c.put_tag("up", "app", "v", d, 1));
  EXPECT_FALSE(c.sharing()->up);
  shared.down = false;
  std::this_thread::sleep_for(30ms);
  ASSERT_TRUE(c.put_tag("up", "app", "v", d, 2));
  EXPECT_TRUE(c.sharing()->up);
  EXPECT_EQ(shared.tags.size(), 1u);
}

TEST_F(MetaShareTest, ANewerRowHereIsNotReplacedByTheDatabasesOlderOne) {
  auto old_d = sha256_of("old"), new_d = sha256_of("new");
  ASSERT_TRUE(a.put_tag("up", "app", "latest", old_d, 100));
  shared.down = true;
  ASSERT_TRUE(b.put_tag("up", "app", "latest", new_d, 300));  // resolved here, not shared
  MetaDb c(dir.path() / "c.db");
  shared.down = false;
  b.share_with(shared, 0ms);
  auto t = b.tag("up", "app", "latest");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->digest, new_d);
}

TEST_F(MetaShareTest, ANewerTagListAnotherReplicaFetchedIsCopiedAndPagedHere) {
  std::vector<std::string> list;
  for (int i = 0; i < 2500; ++i) list.push_back("v" + std::to_string(10000 + i));
  ASSERT_TRUE(a.put_tag_list("up", "app", list, 500));
  auto at = b.tag_list_fetched_at("up", "app");
  ASSERT_TRUE(at && *at);
  EXPECT_EQ(**at, 500);
  auto page = b.tag_list_page("up", "app", "v10999", 3, MetaDb::TagSource::listed);
  ASSERT_TRUE(page);
  EXPECT_EQ(*page, (std::vector<std::string>{"v11000", "v11001", "v11002"}));
  shared.down = true;
  EXPECT_EQ(**b.tag_list_fetched_at("up", "app"), 500) << "offline: the copy here";
}

TEST_F(MetaShareTest, ReleasesGoBothWaysAndOnesRetentionDroppedThereGoHereToo) {
  auto blob = sha256_of("layer");
  ReleaseRecord shop{"shop", "v1", std::nullopt, {{blob, 5, ""}}, {{"up", "app", "v1", blob}}, {}};
  ASSERT_TRUE(shared.record_release(shop));
  auto s = b.sync_releases();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pulled, 1);
  EXPECT_TRUE(*b.has_release("shop", "v1"));
  EXPECT_EQ(**b.pinned_tag("up", "app", "v1"), blob);
  auto rec = b.release("shop", "v1");
  ASSERT_TRUE(rec && *rec);
  EXPECT_EQ((*rec)->blobs.size(), 1u);
  EXPECT_EQ((*rec)->blobs[0].size, 5u);

  // Imported here while the database was down: newer than its newest, so sent there.
  shared.down = true;
  ReleaseRecord v2 = shop;
  v2.version = "v2";
  ASSERT_TRUE(b.record_release(v2));
  shared.down = false;
  b.share_with(shared, 0ms);
  s = b.sync_releases();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pushed, 1);
  EXPECT_TRUE(shared.releases.contains({"shop", "v2"}));

  // Retention dropped v1 there (another replica applied it): dropped here too, not sent back.
  shared.releases.erase({"shop", "v1"});
  s = b.sync_releases();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->dropped, 1);
  EXPECT_EQ(s->pushed, 0);
  EXPECT_FALSE(*b.has_release("shop", "v1"));
}

TEST_F(MetaShareTest, WithoutSharingNothingChanges) {
  MetaDb alone(dir.path() / "alone.db");
  EXPECT_FALSE(alone.sharing());
  ASSERT_TRUE(alone.put_tag("up", "app", "v1", sha256_of("x"), 1));
  auto s = alone.sync_releases();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pulled + s->pushed + s->dropped, 0);
}

}  // namespace
}  // namespace outpost
