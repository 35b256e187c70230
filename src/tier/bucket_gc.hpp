#pragma once
// GC of the shared bucket (a hub on S3 with metadata.postgres), run by one replica at a time
// (the leader's advisory lock): reference counts come from the database (tags, release pins, and
// what their manifests name), an object unreferenced for longer than `grace` has its records
// forgotten and is then deleted with batched DeleteObjects. The orphan sweep is separate and
// resumable: it lists the bucket, reports the objects no record names, and deletes them only
// when asked. Nothing here touches a replica's local hot tier.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "s3/client.hpp"
#include "store/bucket_gc_ledger.hpp"

namespace outpost::tier {

struct BucketGcOptions {
  std::chrono::seconds grace{std::chrono::hours(24)};
  bool dry_run = false;      // report what would go, delete nothing
  std::size_t batch = 1000;  // objects forgotten and deleted per round
};

struct BucketGcReport {
  bool led = false;  // false: another replica is collecting; nothing was done
  std::uint64_t live = 0, newly_unreferenced = 0, referenced_again = 0;
  std::uint64_t deleted = 0, deleted_bytes = 0;  // or, dry: would be deleted
  std::vector<std::string> refused;              // keys S3 would not delete (now orphans)
};

// `say` gets one line per round (progress on long runs).
Result<BucketGcReport> collect_bucket(BucketGcLedger& ledger, s3::Client& s3,
                                      const BucketGcOptions& opt,
                                      const std::function<void(const std::string&)>& say);

struct OrphanOptions {
  std::chrono::seconds grace{std::chrono::hours(24)};  // younger objects may be uploads in flight
  bool remove = false;  // delete them (resuming where an interrupted deleting sweep stopped)
};

struct OrphanReport {
  bool led = false;
  std::uint64_t listed = 0, adopted = 0;  // adopted: unrecorded but reached (recorded now)
  std::vector<std::string> orphans;       // "<hex> <size>" of each object no record names
  std::uint64_t deleted = 0;
  std::string resumed_after;  // the cursor a deleting sweep started from ("" from the start)
};

Result<OrphanReport> sweep_orphans(BucketGcLedger& ledger, s3::Client& s3, const OrphanOptions& opt,
                                   const std::function<void(const std::string&)>& say);

// The daemon's schedule: collect_bucket every `every` (the leader's lock makes it one replica's
// run; the others find it held and wait for the next turn).
class BucketGcLoop {
 public:
  BucketGcLoop(BucketGcLedger& ledger, s3::Client& s3, Millis every, BucketGcOptions opt);

 private:
  std::jthread thread_;
};

}  // namespace outpost::tier
