#pragma once
// What Outpost knows and advertises of one followed OCI source (sources.oci[]): its moving tags
// and the versions of its ranges it has looked at, with the decisions that follow from them (which
// tags clients see, what a tag resolves to). Pure data and pure functions: the checks that change
// it live in sources/oci_sources.hpp; it is saved as JSON so that a restart offline keeps serving
// what was advertised.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/digest.hpp"
#include "core/semver.hpp"
#include "core/time.hpp"
#include "registry/source_view.hpp"

namespace outpost::sources {

// A version (a tag in a followed range) Outpost has looked at.
struct VersionState {
  enum class State { pending, ready, held } state = State::pending;
  Digest digest = Digest::from_hex(std::string(64, '0'));
  std::string why;  // held: what is missing
  UnixSeconds since = 0;
};

// A followed moving tag ("stable"): what clients get, and what upstream has.
struct TagState {
  std::optional<Digest> advertised;
  std::optional<Digest> upstream;
  std::string why;  // upstream differs from advertised: why the new digest is held back
  UnixSeconds moved_at = 0;
};

// Deliveries to one notify target.
struct NotifyStats {
  std::uint64_t sent = 0, failed = 0, retried = 0, pending = 0;
  std::string last_error;
  UnixSeconds last_sent = 0;
};

struct SourceState {
  std::map<std::string, TagState> tags;
  std::map<std::string, VersionState> versions;
  UnixSeconds listed_at = 0;   // upstream's tag list, last taken
  UnixSeconds checked_at = 0;  // last check (reached upstream or not)
  bool reached = true;         // the last check reached upstream
  std::string last_error;
  std::string newest_upstream;  // the highest version upstream lists in a followed range
  std::uint64_t checks = 0;
  std::map<std::string, NotifyStats> notify;  // by target URL
};

nlohmann::json state_json(const SourceState& s);
SourceState state_from_json(const nlohmann::json& j);  // lenient: what is unreadable is dropped

// The tags of `tags` that are versions in one of `ranges`, highest first.
std::vector<std::string> versions_in_range(const std::vector<std::string>& tags,
                                           const std::vector<SemVerRange>& ranges);

// What clients list: upstream's snapshot without the versions not (yet) advertised, plus the
// advertised versions upstream no longer lists. Sorted.
std::vector<std::string> visible_tags(const std::vector<std::string>& snapshot,
                                      const SourceState& s);

// How a tag of the source resolves for clients.
registry::SourceView::TagAnswer answer_for(const SourceState& s, const std::string& tag);

}  // namespace outpost::sources
