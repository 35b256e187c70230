#pragma once
// The storage.s3 section: blobs in an S3-compatible bucket (AWS, Ceph RGW, MinIO, …), keyed by
// digest only (<prefix>blobs/sha256/<hex>). Off (the filesystem store alone) unless endpoint is
// set. See docs/hub.md.
#include <cstdint>
#include <string>

#include "core/config_section.hpp"
#include "core/duration.hpp"

namespace outpost {

struct S3Config {
  std::string endpoint;  // scheme://host[:port]; requests are path-style: <endpoint>/<bucket>/<key>
  std::string bucket;
  std::string region = "us-east-1";  // what the signature names (RGW accepts any)
  std::string prefix;                // put in front of every key ("eu/"); "" for none
  std::string access_key;            // from access_key_env or access_key_file
  std::string secret_key;            // from secret_key_env or secret_key_file; never logged
  bool insecure = false;             // allow http:// and skip TLS verification
  Millis timeout = std::chrono::seconds(30);        // a metadata call, or no byte for this long
  std::uint64_t multipart_threshold = 64ull << 20;  // objects larger go up in parts
  std::uint64_t part_size = 16ull << 20;
  int max_attempts = 6;  // per request, on SlowDown, 5xx and dropped connections
  // The shared bucket's GC (with metadata.postgres; one replica at a time): how often it runs
  // (0: never; `outpost gc --bucket` runs it by hand), and how long an object stays unreferenced
  // before it goes.
  Millis gc_interval = std::chrono::hours(6);
  Millis gc_grace = std::chrono::hours(24);

  bool enabled() const { return !endpoint.empty(); }
};

namespace config {
// The `storage.s3` section's key table (the one place its keys are listed).
const KeyTable<S3Config>& s3_keys();
// Checks a parsed section (endpoint scheme, bucket and key names, both keys present).
void check_s3(const Section& s, S3Config& c);
}  // namespace config

}  // namespace outpost
