#pragma once
// Turns a /v2/ request into what it asks for and which configured upstream it is for.
// Routing: ?ns=<registry> (containerd hosts.toml mirrors), else a path prefix naming a
// configured registry (/v2/ghcr.io/org/app/…) or the releases namespace, else the default upstream.
// A registry that is not configured is an error; it is never dialled.
#include <optional>
#include <string>
#include <variant>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/accept.hpp"
#include "registry/config.hpp"

namespace outpost::registry {

// Every release this Outpost holds, served read-only as its OCI artifact (the one
// `bundle create --push` makes) at /v2/outpost.releases/<name>/manifests/<version>. A local
// namespace: answered from the store only, never routed to an upstream. Sites take releases from
// a hub through it (docs/fleet.md).
inline constexpr std::string_view kReleasesNamespace = "outpost.releases";

// `url` (a /v2/ path, with or without a query) naming upstream `name` the way containerd does and
// an Outpost hub routes on: `?ns=<name>`, or `&ns=<name>` after a query. The one place it is
// spelled.
std::string with_ns(std::string url, std::string_view name);

enum class Kind { base, manifest, blob, tags, referrers, upload };

struct Route {
  Kind kind = Kind::base;
  std::string upstream;          // configured upstream name, or kReleasesNamespace
  std::string repo;              // repository at the upstream (Docker Hub normalised)
  std::string client_name;       // the name as the client wrote it (for Link headers)
  std::string tag;               // manifest by tag
  std::optional<Digest> digest;  // manifest/blob/referrers by digest
  bool from_peer = false;        // a replica of this cluster asks: never forwarded to another
  ManifestAccept accept;         // the manifest types the client accepts (Accept headers)
};

// Errors: Errc::invalid_argument (malformed name/reference; message says which) or
// Errc::not_found with a message naming the unknown registry.
struct RouteError {
  enum class Code { name_invalid, name_unknown, digest_invalid, manifest_invalid, not_found } code;
  std::string message;
};

// The manifest route for a normalised image reference (its registry is the upstream name).
struct ImageRef;
Route manifest_route(const ImageRef& ref);

std::expected<Route, RouteError> parse_route(std::string_view path,
                                             std::optional<std::string_view> ns,
                                             const RegistryConfig& cfg);

}  // namespace outpost::registry
