#pragma once
// Semantic versions as GitOps clients read registry tags: Argo CD, Flux and Helm map `_` in a tag
// back to `+` (OCI tags cannot hold `+`), accept a leading `v`, and match constraints the way
// Masterminds/semver does ("≥1.4.0 <2.0.0", "^1.4", "~1.4.2", "1.x", "a || b"). A pre-release
// satisfies a constraint only when a comparator of the same range names a pre-release of the same
// major.minor.patch.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace outpost {

struct SemVer {
  unsigned long long major = 0, minor = 0, patch = 0;
  std::vector<std::string> pre;  // dot-separated pre-release identifiers
  std::string build;             // ignored in comparisons

  // A tag as the clients read it ("1.5.0", "v1.5.0", "1.5.0_build.7"): nothing when it is no
  // version. Lenient like the clients: "1.5" and "1" are 1.5.0 and 1.0.0.
  static std::optional<SemVer> parse(std::string_view tag);
  std::string str() const;
};

// Precedence per semver.org §11 (build metadata ignored).
int compare(const SemVer& a, const SemVer& b);
inline bool operator<(const SemVer& a, const SemVer& b) {
  return compare(a, b) < 0;
}

class SemVerRange {
 public:
  // Errc::invalid_argument naming the part that does not parse.
  static Result<SemVerRange> parse(std::string_view text);
  // Whether `text` is written as a range (an operator, a wildcard, `||` or several comparators)
  // rather than a plain tag: "stable" and "1.4.0" are tags, ">=1.4.0" and "1.x" ranges.
  static bool looks_like_range(std::string_view text);
  bool matches(const SemVer& v) const;

 private:
  struct Comparator {
    enum class Op { eq, ne, gt, ge, lt, le } op;
    SemVer v;
  };
  std::vector<std::vector<Comparator>> any_of_;  // OR of ANDs
};

}  // namespace outpost
