#pragma once
// `outpost gc --bucket | --orphans` (cli/cmd_gc_bucket.cpp).
#include <chrono>

#include "config/config.hpp"

namespace outpost::cli {

struct BucketGcArgs {
  bool orphans = false;  // the orphan sweep instead of the collection
  bool dry_run = false;  // collection: report only
  bool remove = false;   // orphan sweep: delete what it reports
  std::chrono::seconds grace{std::chrono::hours(24)};
};

// Exit status: 0 done, 1 failed, 2 not a hub with both backends shared.
int run_bucket_gc(const Config& c, const BucketGcArgs& a);

}  // namespace outpost::cli
