#pragma once
// Garbage collection: evicts blobs that no retained release pins, least recently used first,
// until the store is down to a target. Pinned blobs are never touched. Metadata rows of evicted
// blobs (and manifests) go with them, so a later request fetches them again when it can.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

#include <thread>

#include "store/blob_store.hpp"
#include "store/config.hpp"
#include "store/meta_db.hpp"

namespace outpost {

struct GcResult {
  std::uint64_t evicted_blobs = 0;
  std::uint64_t evicted_bytes = 0;
  std::uint64_t pinned_bytes = 0;
  std::uint64_t store_bytes_after = 0;
};

// With an object store behind the local store, the local store is a hot tier: GC evicts only local
// copies, and never one whose upload still waits (`keep_local`) nor a manifest; records stay (the
// bucket holds the blob, read through on the next request).
struct HotTier {
  std::function<bool(const Digest&)> keep_local;
};

// Evicts unpinned blobs (LRU first) while store bytes > target_bytes (0: evict every unpinned).
// With `hot`, as its comment says.
Result<GcResult> collect_garbage(BlobStore& store, MetaDb& db, std::uint64_t target_bytes,
                                 const HotTier* hot = nullptr);

// Background GC between watermarks (storage.gc_high_watermark / gc_low_watermark), checked every
// gc_interval. Stops (joins) on destruction.
class WatermarkGc {
 public:
  // `evict_first(bytes)`: caches that must never compete with pinned blobs for disk (the Git pack
  // cache) are asked to free up to `bytes` before any blob is evicted; returns what it freed.
  WatermarkGc(const StorageConfig& cfg, std::filesystem::path data_dir, BlobStore& store,
              MetaDb& db, std::function<std::uint64_t(std::uint64_t)> evict_first = {});
  // Runs one check now; returns what was evicted (nothing when below the high watermark).
  Result<GcResult> check();
  // The local store is a hot tier in front of an object store (set before the first check).
  void set_hot_tier(HotTier hot) { hot_ = std::move(hot); }

 private:
  const StorageConfig& cfg_;
  const std::filesystem::path data_dir_;
  BlobStore& store_;
  MetaDb& db_;
  const std::function<std::uint64_t(std::uint64_t)> evict_first_;
  std::optional<HotTier> hot_;
  std::jthread thread_;
};

// Disk use of the filesystem holding `path`, as a fraction 0..1 (nullopt when statvfs fails).
std::optional<double> disk_used_fraction(const std::filesystem::path& path);
// Bytes to free so the filesystem is at `fraction` use.
std::uint64_t bytes_above(const std::filesystem::path& path, double fraction);

}  // namespace outpost
