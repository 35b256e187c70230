#pragma once
// What an upstream's smart-HTTP ref advertisement says (gitprotocol-http: the answer to
// GET info/refs?service=git-upload-pack without a protocol v2 request): its branch and tag tips
// and where HEAD points. One such request tells a sync whether anything moved, so an unchanged
// repository costs one upstream request and no git process.
#include <map>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outpost::git {

struct RefAdvert {
  std::map<std::string, std::string> refs;  // refs/heads/* and refs/tags/* → object id
  std::string head;                         // HEAD's symref target ("" when not advertised)
  bool operator==(const RefAdvert&) const = default;
};

// Parses a v0 advertisement: "# service=git-upload-pack", a flush, then "<oid> <ref>" lines (the
// first with NUL and capabilities), then a flush. Peeled ("^{}") lines and refs outside heads and
// tags are left out. Anything else (a dumb server, a v2 answer, a cut body) is
// Errc::upstream_error.
Result<RefAdvert> parse_ref_advert(std::string_view body);

}  // namespace outpost::git
