#pragma once
// Content-addressed blobs on disk: <data>/blobs/sha256/<2 hex>/<64 hex>. Files there are
// immutable and were digest-verified before they became visible (see BlobWriter). In-flight
// writes live in <data>/tmp/, swept at start. Thread-safe.
#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/digest.hpp"
#include "core/fd.hpp"
#include "store/blob_writer.hpp"

namespace outpost {

class BlobStore {
 public:
  // Creates blobs/ and tmp/ under data_dir if needed. Throws std::runtime_error when it cannot
  // (start-up only).
  explicit BlobStore(const std::filesystem::path& data_dir);

  // The one place a digest becomes a path.
  std::filesystem::path path_for(const Digest& d) const;
  const std::filesystem::path& tmp_dir() const { return tmp_dir_; }

  bool contains(const Digest& d) const;
  Result<std::uint64_t> size_of(const Digest& d) const;
  Result<UniqueFd> open(const Digest& d) const;
  // Whole blob in memory; for manifests and other small documents.
  Result<std::string> read_all(const Digest& d, std::size_t max_bytes = 16 << 20) const;

  Result<BlobWriter> create_temp() const;
  Result<Digest> put(std::string_view bytes, const std::optional<Digest>& expected);

  // Removes everything in tmp/ (left by a crash). Returns the number of files removed.
  std::size_t sweep_tmp() const;
  // Moves a blob out of blobs/ into quarantine/ (fsck found it corrupt).
  Result<void> quarantine(const Digest& d);
  Result<void> remove(const Digest& d);
  // Visits every published blob file; names that are not a valid digest are reported as nullopt.
  void for_each(const std::function<void(const std::optional<Digest>&, const std::filesystem::path&,
                                         std::uint64_t)>& fn) const;

  // Bytes under blobs/, scanned at construction and kept current by commits and removals.
  std::uint64_t total_bytes() const { return total_bytes_.load(); }

  // Called with each blob published from now on (verified, durable), on the publishing thread:
  // the object store's write-back queue (tier/object_tier.hpp). Set once, before serving.
  void set_on_published(std::function<void(const Digest&)> fn) { on_published_ = std::move(fn); }

 private:
  friend class BlobWriter;
  // Called by BlobWriter::commit after a successful rename.
  void note_published(const Digest& d, std::uint64_t bytes) const {
    total_bytes_ += bytes;
    if (on_published_) on_published_(d);
  }

  std::function<void(const Digest&)> on_published_;

  std::filesystem::path blobs_dir_, tmp_dir_, quarantine_dir_;
  mutable std::atomic<std::uint64_t> total_bytes_{0};
  mutable std::atomic<std::uint64_t> tmp_counter_{0};
};

// fsync a directory so a rename in it survives power loss.
Result<void> fsync_dir(const std::filesystem::path& dir);

}  // namespace outpost
