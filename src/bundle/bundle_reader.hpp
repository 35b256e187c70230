#pragma once
// Reads a bundle tar front to back and enforces its layout, once, for every reader (import, push,
// delta bases): outpost-bundle.json first (parsed), then only regular files named
// outpost-bundle.sig, oci-layout, index.json or blobs/sha256/<64 hex>. libarchive stays inside.
// Not thread-safe; one reader per pass over a file.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "bundle/bundle_manifest.hpp"

namespace outpost::bundle {

struct BundleHead {
  BundleManifest manifest;
  std::string json;  // the exact bytes (signatures are over these)
};

class BundleReader {
 public:
  enum class EntryKind { signature, oci_layout, index, blob };
  struct Entry {
    EntryKind kind;
    std::string path;
    std::optional<Digest> digest;  // the digest a blob's name claims (kind blob)
  };

  // Opens the file and reads its head. Errc::not_found when it cannot be opened,
  // Errc::invalid_argument when it is not a bundle.
  static Result<BundleReader> open(const std::filesystem::path& file);
  BundleReader(BundleReader&&) noexcept;
  BundleReader& operator=(BundleReader&&) noexcept;
  ~BundleReader();

  const BundleHead& head() const { return head_; }
  // The next entry after the head; nullopt at the end of the tar. Refuses (invalid_argument) any
  // entry outside the layout, and a corrupt or truncated tar.
  Result<std::optional<Entry>> next();
  // The current entry's bytes, refused beyond `limit`.
  Result<std::string> read_all(std::size_t limit);
  // Streams the current entry's bytes to `chunk` (an error from it stops the read).
  Result<void> read(const std::function<Result<void>(std::span<const char>)>& chunk);
  // Leaves the current entry unread.
  void skip();
  // How far into the file the reader is (for progress).
  std::uint64_t position() const;

 private:
  struct Tar;
  explicit BundleReader(std::unique_ptr<Tar> tar);
  std::unique_ptr<Tar> tar_;
  BundleHead head_;
};

}  // namespace outpost::bundle
