#include "registry/route.hpp"

#include <fmt/format.h>

#include <cctype>

#include "registry/image_ref.hpp"
#include "registry/reference.hpp"

namespace outpost::registry {
namespace {

using Code = RouteError::Code;
std::unexpected<RouteError> err(Code c, std::string m) {
  return std::unexpected(RouteError{c, std::move(m)});
}

// host[:port] made of letters, digits, '-' and single dots; anything else is a bad name.
bool plausible_host(std::string_view h) {
  if (h.empty() || h.front() == '.' || h.front() == '-' || h.find("..") != std::string_view::npos)
    return false;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':')
      return false;
  return true;
}

}  // namespace

std::expected<Route, RouteError> parse_route(std::string_view path,
                                             std::optional<std::string_view> ns,
                                             const RegistryConfig& cfg) {
  Route r;
  if (path == "/v2" || path == "/v2/") return r;
  if (!path.starts_with("/v2/")) return err(Code::not_found, "not a registry API path");
  std::string_view rest = path.substr(4);

  std::string_view name, ref;
  if (auto p = rest.rfind("/manifests/"); p != std::string_view::npos) {
    r.kind = Kind::manifest;
    name = rest.substr(0, p);
    ref = rest.substr(p + 11);
  } else if (auto p = rest.find("/blobs/uploads"); p != std::string_view::npos) {
    r.kind = Kind::upload;
    name = rest.substr(0, p);
  } else if (auto p = rest.rfind("/blobs/"); p != std::string_view::npos) {
    r.kind = Kind::blob;
    name = rest.substr(0, p);
    ref = rest.substr(p + 7);
  } else if (rest.ends_with("/tags/list")) {
    r.kind = Kind::tags;
    name = rest.substr(0, rest.size() - 10);
  } else if (auto p = rest.rfind("/referrers/"); p != std::string_view::npos) {
    r.kind = Kind::referrers;
    name = rest.substr(0, p);
    ref = rest.substr(p + 11);
  } else {
    return err(Code::not_found, "unknown registry API endpoint");
  }
  if (ref.find('/') != std::string_view::npos)
    return err(Code::not_found, "unknown registry API endpoint");

  r.client_name = std::string(name);
  std::string_view repo = name;
  if (ns) {
    if (!cfg.find(*ns))
      return err(
          Code::name_unknown,
          fmt::format("registry '{}' (ns parameter) is not configured on this Outpost", *ns));
    r.upstream = std::string(*ns);
  } else {
    auto slash = name.find('/');
    auto first = name.substr(0, slash);
    if (slash != std::string_view::npos && cfg.find(first)) {
      r.upstream = std::string(first);
      repo = name.substr(slash + 1);
    } else if (slash != std::string_view::npos && looks_like_registry_host(first)) {
      if (!plausible_host(first))
        return err(Code::name_invalid, fmt::format("invalid repository name '{}'", name));
      return err(Code::name_unknown,
                 fmt::format("registry '{}' is not configured on this Outpost", first));
    } else if (!cfg.default_upstream.empty()) {
      r.upstream = cfg.default_upstream;
    } else {
      return err(Code::name_unknown, "no registry in the name and no default upstream configured");
    }
  }
  if (!valid_repository(repo))
    return err(Code::name_invalid, fmt::format("invalid repository name '{}'", repo));
  r.repo = normalize_docker_hub(r.upstream, repo);

  switch (r.kind) {
    case Kind::manifest:
      if (ref.find(':') != std::string_view::npos) {
        auto d = Digest::parse(ref);
        if (!d) return err(Code::digest_invalid, d.error().message);
        r.digest = *d;
      } else if (valid_tag(ref)) {
        r.tag = std::string(ref);
      } else {
        return err(Code::manifest_invalid, fmt::format("invalid tag '{}'", ref));
      }
      break;
    case Kind::blob:
    case Kind::referrers: {
      auto d = Digest::parse(ref);
      if (!d) return err(Code::digest_invalid, d.error().message);
      r.digest = *d;
      break;
    }
    default:
      break;
  }
  return r;
}

Route manifest_route(const ImageRef& ref) {
  Route r;
  r.kind = Kind::manifest;
  r.upstream = ref.registry;
  r.repo = ref.repo;
  r.client_name = ref.repo;
  if (ref.digest)
    r.digest = ref.digest;
  else
    r.tag = ref.tag;
  return r;
}

}  // namespace outpost::registry
