#pragma once
// What the GC of a shared bucket asks the shared database (a hub on S3 with metadata.postgres).
// Roots are every tag row and every retained release's pins; a manifest reaches the blobs and
// manifests it names (recorded with it). An object no root reaches is marked unreferenced, and
// only one marked for longer than the grace period is forgotten, then deleted from the bucket.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

namespace outpost {

class BucketGcLedger {
 public:
  virtual ~BucketGcLedger() = default;

  // The GC leader's lease, held while it lives (an advisory lock); none when another replica
  // holds it.
  class Lease {
   public:
    virtual ~Lease() = default;
  };
  virtual Result<std::unique_ptr<Lease>> lead() = 0;

  struct Swept {
    std::uint64_t live = 0;                // objects a root reaches
    std::uint64_t newly_unreferenced = 0;  // marked now
    std::uint64_t referenced_again = 0;    // their mark cleared
    struct Gone {
      Digest digest;
      std::uint64_t size;
    };
    std::vector<Gone> forgotten;  // unreferenced since before the cutoff: records gone
  };
  // In one transaction: marks what no root reaches (unreferenced since `now`), clears the mark of
  // what is reached again, and (unless `dry_run`) forgets the records of up to `limit` objects
  // unreferenced since before `cutoff`, returning them: only these may then be deleted from the
  // bucket. With `dry_run` they are returned and kept.
  virtual Result<Swept> sweep(UnixSeconds now, UnixSeconds cutoff, std::size_t limit,
                              bool dry_run) = 0;

  // The orphan sweep: of these blob digests (hex, listed in the bucket), those with no record.
  // `live`: a root reaches it (recorded now, as stored); `orphans`: nothing does.
  struct Unknown {
    std::vector<std::string> live, orphans;
  };
  virtual Result<Unknown> unknown(
      const std::vector<std::pair<std::string, std::uint64_t>>& listed) = 0;
  // Where an interrupted deleting sweep resumes: the last key it finished ("" from the start).
  virtual Result<std::string> sweep_cursor() = 0;
  virtual Result<void> set_sweep_cursor(const std::string& after) = 0;
};

}  // namespace outpost
