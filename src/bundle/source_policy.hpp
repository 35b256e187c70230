#pragma once
// Where a release's bundle may come from (bundle.allowed_sources). Pure functions: no I/O.
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace outpost::bundle {

// Who named the source: an operator through the admin API or the CLI, or a release file in a
// gated repository (anyone who can commit to it).
enum class SourceFrom { operator_request, release_file };

// Whether `source` lies under `prefix`, one bundle.allowed_sources entry. http(s) URLs compare
// scheme, host and port exactly and the path on a '/' boundary (upstream::url_under; userinfo
// never matches). oci:// references and absolute paths match on a boundary: the prefix ends with
// '/', or the source goes on with '/', ':' or '@' ("/srv/bundles" does not admit
// "/srv/bundles-evil").
bool source_under(std::string_view source, std::string_view prefix);

// Errc::forbidden unless `source` lies under an entry of `allowed`. An empty list admits any
// http(s) URL from an operator, and nothing from a release file (the message names the key).
// `url`: the source is an http(s) URL or an oci:// reference (not a local path).
Result<void> check_allowed(std::string_view source, const std::vector<std::string>& allowed,
                           bool url, SourceFrom from);

}  // namespace outpost::bundle
