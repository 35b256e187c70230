#pragma once
// The records against the bucket (storage.s3), for `outpost fsck` and `outpost storage migrate`:
// every blob object under <prefix>blobs/sha256/ is listed (paged, no HEAD per blob) and compared
// with the blob records of meta.db and the local store.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "s3/client.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::tier {

// hex -> size of every blob object in the bucket.
Result<std::map<std::string, std::uint64_t>> list_blobs(s3::Client& s3);

struct BucketReport {
  std::uint64_t objects = 0, bytes = 0;
  std::vector<std::string> wrong_size;  // "<hex>: record N bytes, object M bytes"
  std::vector<std::string> orphans;     // objects no record names (listed, never deleted here)
  std::uint64_t requeued = 0;           // held locally, not in the bucket, not queued: queued again
  std::uint64_t waiting = 0;            // queued for upload (still local)
  bool clean() const { return wrong_size.empty(); }
};

// Compares `listed` with the records; a record held locally but neither in the bucket nor queued
// is queued again (a marker in `queue_dir`).
BucketReport compare_with_bucket(const std::map<std::string, std::uint64_t>& listed, MetaDb& db,
                                 BlobStore& store, const std::filesystem::path& queue_dir);

// Uploads every local blob the bucket lacks (or holds at another size), `progress(done, total)`
// after each; resumable: a second run sends only what is still missing. Returns blobs uploaded.
Result<std::uint64_t> upload_missing(
    s3::Client& s3, BlobStore& store, const std::map<std::string, std::uint64_t>& listed,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress);

}  // namespace outpost::tier
