#pragma once
// Metadata in <data>/meta.db (SQLite, WAL): which manifests are stored with their exact media
// type, what each mirrored tag last resolved to and when it was checked, and the blob inventory
// (size, last access) that fsck and GC use. Thread-safe: one connection behind a mutex.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "store/sqlite.hpp"

namespace outpost {

using UnixSeconds = std::int64_t;
UnixSeconds unix_now();

struct ManifestRecord {
  std::string media_type;
  std::uint64_t size;
};

struct TagRecord {
  Digest digest;
  UnixSeconds checked_at;  // last time upstream confirmed (or first told us) this digest
};

class MetaDb {
 public:
  explicit MetaDb(const std::filesystem::path& file);  // throws at start-up

  Result<void> put_manifest(const Digest& d, const std::string& media_type, std::uint64_t size);
  Result<std::optional<ManifestRecord>> manifest(const Digest& d);

  Result<void> put_tag(const std::string& upstream, const std::string& repo, const std::string& tag,
                       const Digest& d, UnixSeconds checked_at);
  Result<std::optional<TagRecord>> tag(const std::string& upstream, const std::string& repo,
                                       const std::string& tag);
  Result<std::vector<std::string>> tags(const std::string& upstream, const std::string& repo);

  Result<void> put_blob(const Digest& d, std::uint64_t size);
  Result<void> remove_blob(const Digest& d);
  struct BlobRow {
    Digest digest;
    std::uint64_t size;
  };
  Result<std::vector<BlobRow>> blobs();
  Result<std::vector<Digest>> manifest_digests();
  Result<void> remove_manifest(const Digest& d);

  struct GitRepoRow {
    std::string host, path;
    std::optional<UnixSeconds> last_success;
    std::string last_error;
  };
  Result<void> put_git_repo(const GitRepoRow& row);
  Result<std::vector<GitRepoRow>> git_repos();

  Result<bool> integrity_ok();  // PRAGMA integrity_check

 private:
  std::mutex mu_;
  sqlite::Db db_;  // GUARDED_BY(mu_)
};

}  // namespace outpost
