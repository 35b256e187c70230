#pragma once
// Which blobs the shared bucket holds, and which replica uploads each (a hub on S3 with
// metadata.postgres): replicas that fetched the same blob upload it once between them. A claim
// is held while its replica uploads (a session advisory lock: it ends with the replica, so a
// replica killed mid-upload hands the blob to the next one at once, with no lease to run out).
#include <cstdint>
#include <memory>

#include "core/digest.hpp"
#include "core/error.hpp"

namespace outpost {

class BucketLedger {
 public:
  virtual ~BucketLedger() = default;
  // Held while uploading; released when destroyed.
  class Claim {
   public:
    virtual ~Claim() = default;
    // The upload is done: the blob is recorded as stored (on the claim's own connection).
    virtual Result<void> stored(std::uint64_t size) = 0;
  };
  struct Answer {
    enum State {
      mine,    // upload it (holding `claim`), then claim->stored()
      stored,  // the bucket has it: nothing to do
      theirs   // another replica is uploading it: ask again later
    } state;
    std::unique_ptr<Claim> claim;
  };
  virtual Result<Answer> claim(const Digest& d) = 0;
};

}  // namespace outpost
