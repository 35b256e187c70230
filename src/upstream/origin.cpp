#include "upstream/origin.hpp"

#include <fmt/format.h>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace outpost::upstream {

std::string url_origin(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return {};
  std::string port(u->port());
  if (port.empty()) port = u->scheme() == "https" ? "443" : "80";
  return fmt::format("{}://{}:{}", std::string(u->scheme()), std::string(u->encoded_host()), port);
}

std::string resolve_location(const std::string& base, const std::string& location) {
  auto b = boost::urls::parse_absolute_uri(base);
  auto ref = boost::urls::parse_uri_reference(location);
  if (!b || !ref) return location;
  boost::urls::url out;
  if (!boost::urls::resolve(*b, *ref, out)) return location;
  return std::string(out.buffer());
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace outpost::upstream
