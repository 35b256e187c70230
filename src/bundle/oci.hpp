#pragma once
// Bundles in a registry, named `oci://<registry>/<repo>:<tag>` where <registry> is an upstream in
// registry.upstreams (its URL and credentials are used; nothing else is ever dialled).
//
// A pushed bundle is one OCI artifact manifest (artifactType application/vnd.outpost.bundle.v1,
// empty config) whose layers are the bundle tar's files in tar order, each annotated with its path
// (org.opencontainers.image.title): outpost-bundle.json, its signature, oci-layout, index.json and
// blobs/sha256/…. `oras pull` therefore rebuilds the bundle's OCI layout; Outpost imports it blob
// by blob through the registry mirror, so blobs the store has are never fetched and an interrupted
// import resumes at the blob (and within a blob, by Range) where it stopped.
#include <filesystem>
#include <string_view>

#include "bundle/artifact.hpp"
#include "bundle/config.hpp"
#include "bundle/import.hpp"
#include "core/progress.hpp"
#include "http/client.hpp"
#include "registry/image_ref.hpp"

namespace outpost::registry {
class Mirror;
}

namespace outpost::bundle {

inline constexpr std::string_view kOciScheme = "oci://";

inline bool is_oci_source(std::string_view s) {
  return s.starts_with(kOciScheme);
}

// `oci://registry/repo:tag` (or @sha256:…) → a reference whose registry is a configured upstream.
// Errc::invalid_argument for a malformed reference or an unconfigured registry.
Result<registry::ImageRef> parse_oci_source(std::string_view source, const RegistryConfig& reg);

struct PushStats {
  std::size_t files = 0, uploaded = 0;  // tar entries; blobs the registry lacked
  std::uint64_t bytes_uploaded = 0;
  std::string manifest;  // digest of the pushed artifact manifest
};

// Pushes a bundle file to `dest`, verifying each blob against its name on the way; blobs the
// registry already has are not sent again. `scratch` holds one staged entry at a time.
Result<PushStats> push_bundle(const BundleSettings& cfg, const std::filesystem::path& bundle,
                              const registry::ImageRef& dest, const std::filesystem::path& scratch,
                              http::HttpClient& client, ProgressSink& progress);

// Imports the bundle at `source` through `mirror` (which verifies every blob it stores), then
// records the release exactly as a tar import does. `progress` gets bytes of blobs fetched.
Result<ImportStats> import_bundle_oci(registry::Mirror& mirror, const registry::ImageRef& source,
                                      BlobStore& store, MetaDb& db, const ImportPolicy& policy,
                                      ProgressSink& progress);

}  // namespace outpost::bundle
