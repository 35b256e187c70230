#include "bundle/source_policy.hpp"

#include <fmt/format.h>

#include "upstream/origin.hpp"

namespace outpost::bundle {

bool source_under(std::string_view source, std::string_view prefix) {
  const bool web = prefix.starts_with("http://") || prefix.starts_with("https://");
  if (web) return upstream::url_under(source, prefix);
  if (prefix.empty() || !source.starts_with(prefix)) return false;
  if (source.size() == prefix.size() || prefix.ends_with('/')) return true;
  const char next = source[prefix.size()];
  return next == '/' || (prefix.starts_with("oci://") && (next == ':' || next == '@'));
}

Result<void> check_allowed(std::string_view source, const std::vector<std::string>& allowed,
                           bool url, SourceFrom from) {
  if (allowed.empty()) {
    if (from == SourceFrom::release_file)
      return fail(Errc::forbidden,
                  "a release file may name only sources under bundle.allowed_sources, and it is "
                  "empty: set bundle.allowed_sources to where this repository's bundles live");
    if (url) return {};
    return fail(Errc::forbidden,
                "local bundle paths are not allowed (configure bundle.allowed_sources)");
  }
  for (const auto& p : allowed)
    if (source_under(source, p)) return {};
  return fail(Errc::forbidden,
              fmt::format("source '{}' is outside bundle.allowed_sources", source));
}

}  // namespace outpost::bundle
