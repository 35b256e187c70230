#include "bundle/upload.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace outpost::bundle {
namespace {
namespace fs = std::filesystem;

class UploadsTest : public ::testing::Test {
 protected:
  UploadsTest()
      : dir_(fs::temp_directory_path() / ("outpost-uploads-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
  }
  ~UploadsTest() override { fs::remove_all(dir_); }
  fs::path dir_;
  const std::string file_ = std::string(1000, 'a') + std::string(500, 'b');
  const Digest digest_ = sha256_of(file_);
};

TEST_F(UploadsTest, ChunksAppendInOrderAndTheStateSurvivesANewInstance) {
  Uploads up(dir_);
  auto first =
      up.append("shop", "v1", file_.size(), digest_, 0, std::string_view(file_).substr(0, 600));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->outcome, Appended::Outcome::appended);
  EXPECT_EQ(first->state.offset, 600u);
  EXPECT_FALSE(first->state.complete());
  Uploads again(dir_);  // a restarted server resumes from what is on disk
  auto st = again.state("shop", "v1");
  ASSERT_TRUE(st && *st);
  EXPECT_EQ((*st)->offset, 600u);
  EXPECT_EQ((*st)->digest, digest_);
  auto last =
      again.append("shop", "v1", file_.size(), digest_, 600, std::string_view(file_).substr(600));
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->state.complete());
  std::ifstream in(last->state.file, std::ios::binary);
  std::string held((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(held, file_);
}

TEST_F(UploadsTest, AChunkNotWhereTheUploadIsSaysWhereToResume) {
  Uploads up(dir_);
  ASSERT_TRUE(
      up.append("shop", "v1", file_.size(), digest_, 0, std::string_view(file_).substr(0, 100)));
  for (std::uint64_t at : {0u, 50u, 200u}) {
    auto r = up.append("shop", "v1", file_.size(), digest_, at, "x");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->outcome, Appended::Outcome::wrong_offset) << at;
    EXPECT_EQ(r->state.offset, 100u);
  }
  auto fresh = up.append("shop", "v2", file_.size(), digest_, 10, "x");  // nothing held yet
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->outcome, Appended::Outcome::wrong_offset);
  EXPECT_EQ(fresh->state.offset, 0u);
}

TEST_F(UploadsTest, AnotherFileForTheSameReleaseIsRefusedUntilTheFirstIsDropped) {
  Uploads up(dir_);
  ASSERT_TRUE(up.append("shop", "v1", file_.size(), digest_, 0, "aaaa"));
  auto other = up.append("shop", "v1", 10, sha256_of("0123456789"), 0, "0123456789");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->outcome, Appended::Outcome::other_upload);
  EXPECT_EQ(other->state.digest, digest_);
  up.remove("shop", "v1");
  auto now = up.append("shop", "v1", 10, sha256_of("0123456789"), 0, "0123456789");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->outcome, Appended::Outcome::appended);
  EXPECT_TRUE(now->state.complete());
}

TEST_F(UploadsTest, AChunkPastTheDeclaredSizeAndHostileNamesAreRefused) {
  Uploads up(dir_);
  auto over = up.append("shop", "v1", 4, digest_, 0, "12345");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::invalid_argument);
  for (std::string bad : {"../x", "-x", "", "a/b", ".."}) {
    EXPECT_FALSE(up.append(bad, "v1", 4, digest_, 0, "1234")) << bad;
    EXPECT_FALSE(up.state("shop", bad)) << bad;
  }
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "x.part"));
}

}  // namespace
}  // namespace outpost::bundle

namespace outpost::bundle {
namespace {

// A DELETE racing the chunks of an upload: each append sees the upload whole or gone, never a
// declaration without its part file or an offset past what it holds.
TEST_F(UploadsTest, RemoveRacingAppendsLeavesAConsistentUpload) {
  Uploads up(dir_);
  std::atomic<bool> done{false};
  std::thread remover([&] {
    while (!done) up.remove("shop", "v1");
  });
  for (int round = 0; round < 200; ++round) {
    std::uint64_t offset = 0;
    for (std::uint64_t at = 0; at < file_.size(); at += 100) {
      auto r = up.append("shop", "v1", file_.size(), digest_, offset,
                         std::string_view(file_).substr(at, 100));
      ASSERT_TRUE(r) << r.error().message;
      if (r->outcome != Appended::Outcome::appended) break;  // removed meanwhile: start over
      offset = r->state.offset;
      ASSERT_EQ(offset, at + 100);
    }
  }
  done = true;
  remover.join();
}

}  // namespace
}  // namespace outpost::bundle
