#include "store/blob_store.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace outpost {
namespace fs = std::filesystem;

struct BlobStoreTest : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("outpost-blobstore-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { fs::remove_all(dir); }
  void TearDown() override { fs::remove_all(dir); }
};

TEST_F(BlobStoreTest, PublishesOnlyVerifiedContent) {
  BlobStore s(dir);
  auto d = s.put("hello", sha256_of("hello"));
  ASSERT_TRUE(d);
  EXPECT_TRUE(s.contains(*d));
  EXPECT_EQ(*s.read_all(*d), "hello");
  EXPECT_EQ(s.total_bytes(), 5u);
}

TEST_F(BlobStoreTest, RejectsDigestMismatchAndLeavesNothing) {
  BlobStore s(dir);
  auto wrong = sha256_of("other");
  auto d = s.put("hello", wrong);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::digest_mismatch);
  EXPECT_FALSE(s.contains(wrong));
  EXPECT_FALSE(s.contains(sha256_of("hello")));
  EXPECT_TRUE(fs::is_empty(s.tmp_dir()));
}

TEST_F(BlobStoreTest, UncommittedWriterIsDiscarded) {
  BlobStore s(dir);
  {
    auto w = s.create_temp();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(std::string_view("partial")));
    EXPECT_FALSE(fs::is_empty(s.tmp_dir()));
  }
  EXPECT_TRUE(fs::is_empty(s.tmp_dir()));
  EXPECT_FALSE(s.contains(sha256_of("partial")));
}

TEST_F(BlobStoreTest, SweepRemovesLeftoversOfACrash) {
  BlobStore s(dir);
  std::ofstream(s.tmp_dir() / "123-0.part") << "half a blob";
  EXPECT_EQ(s.sweep_tmp(), 1u);
  EXPECT_TRUE(fs::is_empty(s.tmp_dir()));
}

TEST_F(BlobStoreTest, DigestMapsToShardedPath) {
  BlobStore s(dir);
  auto d = sha256_of("x");
  auto p = s.path_for(d);
  EXPECT_EQ(p.filename().string(), std::string(d.hex()));
  EXPECT_EQ(p.parent_path().filename().string(), std::string(d.hex().substr(0, 2)));
}

}  // namespace outpost
