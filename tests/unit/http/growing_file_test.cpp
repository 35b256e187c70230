#include "http/growing_file.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

namespace outpost::http {
namespace {

class GrowingFileTest : public ::testing::Test {
 protected:
  GrowingFileTest() {
    path_ =
        std::filesystem::temp_directory_path() / ("outpost-growing-" + std::to_string(::getpid()));
    writer_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    file_ = std::make_unique<GrowingFile>(UniqueFd(::dup(writer_.get())));
  }
  ~GrowingFileTest() override { std::filesystem::remove(path_); }
  void append(std::string_view bytes) {
    ASSERT_TRUE(write_all(writer_.get(), bytes, "test", written_));
    written_ += bytes.size();
  }
  std::string read(std::uint64_t offset) {
    std::string buf(64, '\0');
    auto n = file_->read_at(offset, buf);
    EXPECT_TRUE(n);
    buf.resize(n ? *n : 0);
    return buf;
  }
  std::filesystem::path path_;
  UniqueFd writer_;
  std::uint64_t written_ = 0;
  std::unique_ptr<GrowingFile> file_;
};

TEST_F(GrowingFileTest, ReadersSeeOnlyWhatTheProducerReleased) {
  append("hello world");
  EXPECT_EQ(read(0), "");  // written, not yet released
  file_->advance(5);
  EXPECT_EQ(read(0), "hello");
  EXPECT_EQ(read(5), "");
  file_->advance(3);  // never lowered
  EXPECT_EQ(file_->readable(), 5u);
  file_->advance(11);
  EXPECT_EQ(read(5), " world");
  EXPECT_FALSE(file_->ended_at(11));
  file_->finish(std::nullopt);
  EXPECT_TRUE(file_->ended_at(11));
  EXPECT_FALSE(file_->ended_at(10));
}

TEST_F(GrowingFileTest, AWaitingReaderIsWokenOnceMoreIsReadableOrItEnds) {
  int woken = 0;
  file_->notify_when_readable(0, [&] { ++woken; });
  EXPECT_EQ(woken, 0);
  append("ab");
  file_->advance(2);
  EXPECT_EQ(woken, 1);
  file_->notify_when_readable(2, [&] { ++woken; });
  file_->notify_when_readable(0, [&] { ++woken; });  // readable already: at once
  EXPECT_EQ(woken, 2);
  file_->finish(std::nullopt);
  EXPECT_EQ(woken, 3);
  file_->notify_when_readable(2, [&] { ++woken; });  // ended: at once
  EXPECT_EQ(woken, 4);
}

TEST_F(GrowingFileTest, AFailedFileFailsEveryReadSoNoResponseEndsShort) {
  append("abcdef");
  file_->advance(6);
  int woken = 0;
  file_->notify_when_readable(6, [&] { ++woken; });
  file_->finish(Error{Errc::digest_mismatch, "does not verify"});
  EXPECT_EQ(woken, 1);
  std::string buf(8, '\0');
  auto r = file_->read_at(0, buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_mismatch);
  EXPECT_FALSE(file_->ended_at(6));
}

}  // namespace
}  // namespace outpost::http
