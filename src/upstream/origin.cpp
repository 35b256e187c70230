#include "upstream/origin.hpp"

#include <fmt/format.h>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <optional>
#include <utility>

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

namespace {

// scheme://host:port and the normalised path of an absolute http(s) URL without userinfo.
std::optional<std::pair<std::string, std::string>> origin_and_path(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || parsed->has_userinfo()) return std::nullopt;
  boost::urls::url u(*parsed);
  u.normalize();
  if (u.scheme() != "http" && u.scheme() != "https") return std::nullopt;
  std::string origin = url_origin(u.buffer());
  if (origin.empty()) return std::nullopt;
  std::string path(u.encoded_path());
  if (path.empty()) path = "/";
  return std::pair{std::move(origin), std::move(path)};
}

}  // namespace

bool url_under(std::string_view url, std::string_view base) {
  auto u = origin_and_path(url);
  auto b = origin_and_path(base);
  if (!u || !b || u->first != b->first) return false;
  const std::string& prefix = b->second;
  const std::string& path = u->second;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || prefix.ends_with('/') || path[prefix.size()] == '/';
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace outpost::upstream
