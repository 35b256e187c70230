#pragma once
// The storage section of the config (storage.*): retention, GC watermarks and the object store
// (storage.s3, whose struct the s3 module owns).
#include "core/config_section.hpp"
#include "core/duration.hpp"
#include "s3/config.hpp"

namespace outpost {

struct StorageConfig {
  int keep_releases = 3;  // newest releases of each bundle name kept pinned
  // Automatic GC: when the data dir's filesystem is fuller than gc_high_watermark, unpinned
  // blobs are evicted (LRU first) until it is at gc_low_watermark.
  double gc_high_watermark = 0.90;
  double gc_low_watermark = 0.80;
  Millis gc_interval = std::chrono::seconds(60);
  S3Config s3;  // blobs in a bucket, with data_dir as the hot tier (off unless s3.endpoint is set)
};

namespace config {
// The `storage` section's key table (the one place its keys are listed).
const KeyTable<StorageConfig>& storage_keys();
}  // namespace config

}  // namespace outpost
