#pragma once
// URL facts every upstream conversation needs: the origin a URL belongs to (credentials never
// cross origins), and where a redirect points.
#include <string>
#include <string_view>

namespace outpost::upstream {

// scheme://host:port of an absolute URL, the port made explicit ("" if not absolute).
std::string url_origin(std::string_view url);
// Resolves a Location header against the URL it came from.
std::string resolve_location(const std::string& base, const std::string& location);
bool is_redirect(int status);

}  // namespace outpost::upstream
