#pragma once
// Which blobs the shared bucket holds, and which replica uploads each (a hub on S3 with
// metadata.postgres): replicas that fetched the same blob upload it once between them. A claim
// lapses after `claim_for` (the claimant died mid-upload): another replica then uploads it.
#include <chrono>
#include <cstdint>
#include <string>

#include "core/digest.hpp"
#include "core/error.hpp"

namespace outpost {

class BucketLedger {
 public:
  virtual ~BucketLedger() = default;
  enum class Claim {
    mine,    // upload it, then stored()
    stored,  // the bucket has it: nothing to do
    theirs   // another replica is uploading it: ask again later
  };
  virtual Result<Claim> claim(const Digest& d, std::uint64_t size, const std::string& replica,
                              std::chrono::seconds claim_for) = 0;
  virtual Result<void> stored(const Digest& d, std::uint64_t size) = 0;
};

}  // namespace outpost
