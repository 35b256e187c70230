#pragma once
// An in-flight blob: bytes go to a temp file under tmp/ and through SHA-256 as they are written.
// Nothing is visible in the store until commit() verifies the digest, fsyncs, renames into
// blobs/ and fsyncs the directory. The destructor discards an uncommitted temp file, so a failed,
// cancelled or truncated download never leaves a partial blob behind.
#include <filesystem>
#include <optional>
#include <span>

#include "core/digest.hpp"
#include "core/fd.hpp"

namespace outpost {

class BlobStore;

class BlobWriter {
 public:
  BlobWriter(const BlobStore& store, UniqueFd fd, std::filesystem::path tmp_path);
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) = delete;
  BlobWriter(const BlobWriter&) = delete;
  ~BlobWriter();

  Result<void> write(std::span<const char> bytes);
  Result<void> write(std::string_view bytes) {
    return write(std::span(bytes.data(), bytes.size()));
  }
  std::uint64_t size() const { return size_; }
  // Readers may pread() the bytes written so far from this descriptor (valid until destruction).
  int fd() const { return fd_.get(); }

  // Finishes hashing and checks the digest: a different one is Errc::digest_mismatch (the temp
  // file is then discarded by the destructor). No further writes after sealing.
  Result<Digest> seal(const std::optional<Digest>& expected);
  // Publishes a sealed blob: fsync, rename into blobs/, fsync the directory. Publishing a digest
  // already present is a success (content-addressed).
  Result<Digest> publish();
  // seal() then publish().
  Result<Digest> commit(const std::optional<Digest>& expected);
  bool committed() const { return committed_; }

 private:
  const BlobStore* store_;
  UniqueFd fd_;
  std::filesystem::path tmp_path_;
  std::unique_ptr<Sha256> hash_;
  std::uint64_t size_ = 0;
  std::optional<Digest> sealed_;
  bool committed_ = false;
};

}  // namespace outpost
