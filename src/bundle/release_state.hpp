#pragma once
// Where a release stands. Parsed once where it crosses an edge (the JSON of /api/v1/releases and
// of the status document); everything else compares enum values.
#include <optional>
#include <string_view>

namespace outpost::bundle {

enum class ReleaseState {
  unknown,      // never heard of
  queued,       // a job is about to start
  downloading,  // bytes are coming from its source
  importing,    // verifying and publishing
  ready,        // recorded, and every pinned blob is in the store
  incomplete,   // recorded, but some pinned blob is missing from the store
  failed,       // the last job failed (its error says why)
};

std::string_view state_name(ReleaseState s);
std::optional<ReleaseState> parse_release_state(std::string_view text);

}  // namespace outpost::bundle
