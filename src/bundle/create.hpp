#pragma once
// `outpost bundle create`: resolves image references to digests through the configured
// upstreams, downloads every manifest and blob (selected platforms only) into a local cache that
// verifies each digest, and writes the bundle tar: outpost-bundle.json first, then an OCI image
// layout (oci-layout, index.json, blobs/sha256/…). With a base bundle, blobs the base already has
// are listed but not carried (a delta).
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bundle/bundle_manifest.hpp"
#include "bundle/config.hpp"
#include "core/progress.hpp"
#include "http/client.hpp"
#include "registry/image_ref.hpp"

namespace outpost::bundle {

// A chart from a classic repository: `<host>[/<path>]/<name>:<version>`.
struct ChartRef {
  std::string repo, name, version;
  static Result<ChartRef> parse(std::string_view text);
  auto operator<=>(const ChartRef&) const = default;
};

struct CreateOptions {
  std::string name, version;
  std::vector<registry::ImageRef> images;
  std::vector<ChartRef> charts;
  std::vector<std::string> platforms = {"linux/amd64"};
  std::optional<std::filesystem::path> since;  // base bundle file (delta)
  std::filesystem::path output;
  std::filesystem::path cache_dir;  // verified downloads (reused across runs)
  std::string source_repo, source_commit;
  std::optional<std::filesystem::path> sign_key;  // ed25519 private key (PEM)
  // Also carry each image's referrers (signatures, SBOMs, attestations): those the referrers API
  // lists and those tagged sha256-<hex>[.sig|.att|.sbom], for the top manifest and each platform.
  bool with_referrers = false;
  // --from oci://…: a GitOps source artifact (Argo CD / Flux manifests, a Helm OCI chart) whose
  // manifests name the images; the bundle carries it too, so the site can serve the source.
  std::optional<registry::ImageRef> from_source;
};

struct CreateStats {
  std::size_t images = 0, charts = 0, blobs = 0, blobs_in_bundle = 0, referrers = 0;
  std::uint64_t bytes_in_bundle = 0;
};

// `progress` gets a line per step and the bytes downloaded of those to download. Every upstream
// is reached through `client`.
Result<CreateStats> create_bundle(const BundleSettings& cfg, const CreateOptions& opt,
                                  http::HttpClient& client, ProgressSink& progress);

// Reads only outpost-bundle.json from a bundle tar.
Result<BundleManifest> read_bundle_manifest(const std::filesystem::path& bundle);

}  // namespace outpost::bundle
