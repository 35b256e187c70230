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
// Whether absolute http(s) URL `url` lies under `base`: the same scheme, host and port (the port
// made explicit), and the path equal to base's or below it on a '/' boundary, compared after
// normalisation (dot segments and percent-encoded unreserved characters). A URL with userinfo
// (user@host) is never under anything: "http://allowed@evil/" dials evil.
bool url_under(std::string_view url, std::string_view base);

}  // namespace outpost::upstream
