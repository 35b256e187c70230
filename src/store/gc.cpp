#include "store/gc.hpp"
#include "core/time.hpp"

#include <sys/statvfs.h>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <set>

namespace outpost {

Result<GcResult> collect_garbage(BlobStore& store, MetaDb& db, std::uint64_t target_bytes,
                                 const HotTier* hot) {
  auto pinned = db.pinned_digests();
  if (!pinned) return std::unexpected(pinned.error());
  std::set<Digest> keep(pinned->begin(), pinned->end());
  if (hot) {  // manifests stay local in a hot tier: only blobs are read through from the bucket
    auto manifests = db.manifest_digests();
    if (!manifests) return std::unexpected(manifests.error());
    keep.insert(manifests->begin(), manifests->end());
  }
  auto lru = db.blobs_by_last_access();
  if (!lru) return std::unexpected(lru.error());
  GcResult r;
  for (const auto& row : *lru) {
    if (keep.contains(row.digest)) {
      r.pinned_bytes += row.size;
      continue;
    }
    if (target_bytes > 0 && store.total_bytes() <= target_bytes) continue;
    if (hot && hot->keep_local(row.digest)) continue;
    auto size = store.size_of(row.digest);
    if (auto rm = store.remove(row.digest); !rm && rm.error().code != Errc::not_found)
      return std::unexpected(rm.error());
    if (!hot) {
      (void)db.remove_blob(row.digest);
      (void)db.remove_manifest(row.digest);
    }
    if (size) {
      ++r.evicted_blobs;
      r.evicted_bytes += *size;
    }
  }
  r.store_bytes_after = store.total_bytes();
  return r;
}

WatermarkGc::WatermarkGc(const StorageConfig& cfg, std::filesystem::path data_dir, BlobStore& store,
                         MetaDb& db, std::function<std::uint64_t(std::uint64_t)> evict_first)
    : cfg_(cfg),
      data_dir_(std::move(data_dir)),
      store_(store),
      db_(db),
      evict_first_(std::move(evict_first)) {
  thread_ = std::jthread([this](std::stop_token st) {
    while (!st.stop_requested()) {
      if (auto r = check(); r && r->evicted_blobs > 0)
        spdlog::info("gc: disk above {:.0f}%: evicted {} unpinned blobs ({} bytes)",
                     cfg_.gc_high_watermark * 100, r->evicted_blobs, r->evicted_bytes);
      else if (!r)
        spdlog::warn("gc: {}", r.error().message);
      sleep_unless_stopped(st, cfg_.gc_interval);
    }
  });
}

Result<GcResult> WatermarkGc::check() {
  auto used = disk_used_fraction(data_dir_);
  if (!used || *used <= cfg_.gc_high_watermark) return GcResult{};
  auto excess = bytes_above(data_dir_, cfg_.gc_low_watermark);
  if (evict_first_ && excess > 0) {
    auto freed = evict_first_(excess);
    if (freed > 0)
      spdlog::info("gc: disk above {:.0f}%: dropped {} bytes of the Git pack cache",
                   cfg_.gc_high_watermark * 100, freed);
    excess = bytes_above(data_dir_, cfg_.gc_low_watermark);
    if (excess == 0) return GcResult{};
  }
  std::uint64_t target = store_.total_bytes() > excess ? store_.total_bytes() - excess : 1;
  return collect_garbage(store_, db_, target, hot_ ? &*hot_ : nullptr);
}

std::optional<double> disk_used_fraction(const std::filesystem::path& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0 || s.f_blocks == 0) return std::nullopt;
  return 1.0 - static_cast<double>(s.f_bavail) / static_cast<double>(s.f_blocks);
}

std::uint64_t bytes_above(const std::filesystem::path& path, double fraction) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return 0;
  double total = static_cast<double>(s.f_blocks) * static_cast<double>(s.f_frsize);
  double used = total - static_cast<double>(s.f_bavail) * static_cast<double>(s.f_frsize);
  double want = total * fraction;
  return used > want ? static_cast<std::uint64_t>(used - want) : 0;
}

}  // namespace outpost
