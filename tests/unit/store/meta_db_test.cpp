#include "store/meta_db.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "store/fsck.hpp"

namespace outpost {
namespace fs = std::filesystem;

struct MetaDbTest : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("outpost-metadb-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
};

TEST_F(MetaDbTest, TagsResolveToTheLastDigest) {
  MetaDb db(dir / "meta.db");
  auto a = sha256_of("a"), b = sha256_of("b");
  ASSERT_TRUE(db.put_tag("docker.io", "library/nginx", "latest", a, 100));
  ASSERT_TRUE(db.put_tag("docker.io", "library/nginx", "latest", b, 200));
  auto t = db.tag("docker.io", "library/nginx", "latest");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->digest, b);
  EXPECT_EQ((*t)->checked_at, 200);
  EXPECT_FALSE(*db.tag("ghcr.io", "library/nginx", "latest"));
}

TEST_F(MetaDbTest, RetainingReleasesByVersionDropsTheOthersAndTheirPins) {
  MetaDb db(dir / "meta.db");
  for (const char* v : {"1.5.0", "1.7.0", "1.5.1"}) {
    ReleaseRecord r;
    r.name = "source:ghcr.io/acme/app";
    r.version = v;
    r.blobs = {{sha256_of(v), 1, ""}};
    r.tags = {{"ghcr.io", "acme/app", v, sha256_of(v)}};
    ASSERT_TRUE(db.record_release(r));
  }
  auto dropped = db.retain_releases("source:ghcr.io/acme/app", {"1.7.0", "1.5.1"});
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, std::vector<std::string>{"1.5.0"});
  EXPECT_FALSE(*db.pinned_tag("ghcr.io", "acme/app", "1.5.0"));
  EXPECT_TRUE(*db.pinned_tag("ghcr.io", "acme/app", "1.5.1"));
  EXPECT_EQ(db.releases()->size(), 2u);
}

TEST_F(MetaDbTest, ManifestKeepsItsExactMediaType) {
  MetaDb db(dir / "meta.db");
  auto d = sha256_of("m");
  ASSERT_TRUE(db.put_manifest(d, "application/vnd.docker.distribution.manifest.v2+json", 1));
  EXPECT_EQ((*db.manifest(d))->media_type, "application/vnd.docker.distribution.manifest.v2+json");
}

TEST_F(MetaDbTest, FsckQuarantinesCorruptBlobsAndReconciles) {
  BlobStore store(dir);
  MetaDb db(dir / "meta.db");
  auto good = *store.put("good", std::nullopt);
  auto bad = *store.put("bad", std::nullopt);
  ASSERT_TRUE(db.put_blob(good, 4));
  // Flip the bytes of a published blob behind the store's back.
  { std::ofstream(store.path_for(bad), std::ios::trunc) << "BAD"; }
  auto rep = run_fsck(store, db);
  EXPECT_FALSE(rep.clean());
  ASSERT_EQ(rep.corrupt.size(), 1u);
  EXPECT_EQ(rep.corrupt[0], bad.str());
  EXPECT_FALSE(store.contains(bad));
  EXPECT_TRUE(store.contains(good));
  auto again = run_fsck(store, db);
  EXPECT_TRUE(again.clean());
}

}  // namespace outpost
