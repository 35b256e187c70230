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

// The endpoint: sets r.kind, returns {name, reference}. Read from the end of the path: a
// repository may itself have a component named manifests, blobs or tags
// (/v2/shop/manifests/tags/list).
std::expected<std::pair<std::string_view, std::string_view>, RouteError> split_endpoint(
    std::string_view rest, Route& r) {
  auto unknown = [] { return err(Code::not_found, "unknown registry API endpoint"); };
  if (rest.ends_with("/tags/list")) {
    r.kind = Kind::tags;
    return std::pair{rest.substr(0, rest.size() - 10), std::string_view()};
  }
  const auto last = rest.rfind('/');
  if (last == std::string_view::npos || last == 0) return unknown();
  const auto second = rest.rfind('/', last - 1);
  if (second == std::string_view::npos) return unknown();
  const auto kind = rest.substr(second + 1, last - second - 1);
  const auto ref = rest.substr(last + 1);
  const auto name = rest.substr(0, second);
  if (kind == "manifests") {
    r.kind = Kind::manifest;
  } else if (kind == "blobs" && ref == "uploads") {
    r.kind = Kind::upload;
    return std::pair{name, std::string_view()};
  } else if (kind == "blobs") {
    r.kind = Kind::blob;
  } else if (kind == "referrers") {
    r.kind = Kind::referrers;
  } else if (kind == "uploads" && name.ends_with("/blobs")) {  // …/blobs/uploads/[<id>]
    r.kind = Kind::upload;
    return std::pair{name.substr(0, name.size() - 6), std::string_view()};
  } else {
    return unknown();
  }
  return std::pair{name, ref};
}

// The upstream (?ns=, a configured path prefix, or the default) and the repository at it.
std::expected<std::string_view, RouteError> pick_upstream(std::string_view name,
                                                          std::optional<std::string_view> ns,
                                                          const RegistryConfig& cfg, Route& r) {
  if (ns) {
    if (*ns != kReleasesNamespace && !cfg.find(*ns))
      return err(
          Code::name_unknown,
          fmt::format("registry '{}' (ns parameter) is not configured on this Outpost", *ns));
    r.upstream = std::string(*ns);
    return name;
  }
  auto slash = name.find('/');
  auto first = name.substr(0, slash);
  if (slash != std::string_view::npos && (first == kReleasesNamespace || cfg.find(first))) {
    r.upstream = std::string(first);
    return name.substr(slash + 1);
  }
  if (slash != std::string_view::npos && looks_like_registry_host(first)) {
    if (!plausible_host(first))
      return err(Code::name_invalid, fmt::format("invalid repository name '{}'", name));
    return err(Code::name_unknown,
               fmt::format("registry '{}' is not configured on this Outpost", first));
  }
  if (cfg.default_upstream.empty())
    return err(Code::name_unknown, "no registry in the name and no default upstream configured");
  r.upstream = cfg.default_upstream;
  return name;
}

// The reference: a tag or a digest for manifests, a digest for blobs and referrers.
std::expected<void, RouteError> set_reference(std::string_view ref, Route& r) {
  if (r.kind == Kind::manifest && ref.find(':') == std::string_view::npos) {
    if (!valid_tag(ref)) return err(Code::manifest_invalid, fmt::format("invalid tag '{}'", ref));
    r.tag = std::string(ref);
    return {};
  }
  if (r.kind == Kind::manifest || r.kind == Kind::blob || r.kind == Kind::referrers) {
    auto d = Digest::parse(ref);
    if (!d) return err(Code::digest_invalid, d.error().message);
    r.digest = *d;
  }
  return {};
}

}  // namespace

std::expected<Route, RouteError> parse_route(std::string_view path,
                                             std::optional<std::string_view> ns,
                                             const RegistryConfig& cfg) {
  Route r;
  if (path == "/v2" || path == "/v2/") return r;
  if (!path.starts_with("/v2/")) return err(Code::not_found, "not a registry API path");
  auto parts = split_endpoint(path.substr(4), r);
  if (!parts) return std::unexpected(parts.error());
  auto [name, ref] = *parts;
  r.client_name = std::string(name);
  auto repo = pick_upstream(name, ns, cfg, r);
  if (!repo) return std::unexpected(repo.error());
  if (!valid_repository(*repo))
    return err(Code::name_invalid, fmt::format("invalid repository name '{}'", *repo));
  r.repo = normalize_docker_hub(r.upstream, *repo);
  if (auto s = set_reference(ref, r); !s) return std::unexpected(s.error());
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

std::string with_ns(std::string url, std::string_view name) {
  url += url.find('?') == std::string::npos ? "?ns=" : "&ns=";
  url += name;
  return url;
}

}  // namespace outpost::registry
