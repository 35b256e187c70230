#include "store/blob_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "store/blob_store.hpp"

namespace outpost {

BlobWriter::BlobWriter(const BlobStore& store, UniqueFd fd, std::filesystem::path tmp_path)
    : store_(&store),
      fd_(std::move(fd)),
      tmp_path_(std::move(tmp_path)),
      hash_(std::make_unique<Sha256>()) {}

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : store_(o.store_),
      fd_(std::move(o.fd_)),
      tmp_path_(std::exchange(o.tmp_path_, {})),
      hash_(std::move(o.hash_)),
      size_(o.size_),
      sealed_(std::move(o.sealed_)),
      committed_(o.committed_) {}

BlobWriter::~BlobWriter() {
  if (!committed_ && !tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

Result<void> BlobWriter::write(std::span<const char> bytes) {
  if (!hash_) return fail(Errc::internal, "write after seal");
  if (auto w = write_all(fd_.get(), std::string_view(bytes.data(), bytes.size()),
                         "writing blob to tmp/");
      !w)
    return w;
  hash_->update(bytes);
  size_ += bytes.size();
  return {};
}

Result<Digest> BlobWriter::seal(const std::optional<Digest>& expected) {
  if (sealed_ || !hash_) return fail(Errc::internal, "blob sealed twice");
  Digest actual = hash_->finish();
  hash_.reset();
  if (expected && *expected != actual) {
    return fail(Errc::digest_mismatch,
                "content hashes to " + actual.str() + ", expected " + expected->str());
  }
  sealed_ = actual;
  return actual;
}

Result<Digest> BlobWriter::commit(const std::optional<Digest>& expected) {
  if (auto d = seal(expected); !d) return d;
  return publish();
}

Result<Digest> BlobWriter::publish() {
  if (committed_) return fail(Errc::internal, "blob committed twice");
  if (!sealed_) return fail(Errc::internal, "blob published before it was sealed");
  const Digest& actual = *sealed_;
  auto final_path = store_->path_for(actual);
  if (std::filesystem::exists(final_path)) {
    return actual;  // the destructor removes our temp copy
  }
  if (::fsync(fd_.get()) != 0) return fail_errno("fsync blob", errno);
  std::error_code ec;
  auto shard = final_path.parent_path();
  if (!std::filesystem::exists(shard)) {
    std::filesystem::create_directories(shard, ec);
    if (ec) return fail(Errc::io, "creating " + shard.string() + ": " + ec.message());
    if (auto r = fsync_dir(shard.parent_path()); !r) return std::unexpected(r.error());
  }
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0)
    return fail_errno("publishing blob", errno);
  committed_ = true;
  if (auto r = fsync_dir(shard); !r) return std::unexpected(r.error());
  store_->note_published(actual, size_);
  return actual;
}

}  // namespace outpost
