#pragma once
// The OCI artifact a bundle is in a registry: one image manifest (artifactType
// application/vnd.outpost.bundle.v1, empty config) whose layers are the bundle tar's files in tar
// order, outpost-bundle.json first, each annotated with its path. `bundle create --push` builds it
// to upload; a tar import builds the same bytes and keeps them, so every release an Outpost holds
// is served at outpost.releases/<name>:<version> with one digest however it arrived.
#include <string>
#include <vector>

#include "bundle/bundle_manifest.hpp"
#include "bundle/import.hpp"

namespace outpost::bundle {

inline constexpr const char* kBundleArtifactType = "application/vnd.outpost.bundle.v1";
inline constexpr const char* kArtifactManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kEmptyConfig = "{}";  // the artifact's config blob
inline constexpr const char* kTitleAnnotation = "org.opencontainers.image.title";  // file paths

// One file of the bundle tar, in the order the tar holds it.
struct ArtifactFile {
  std::string path;
  Digest digest;
  std::uint64_t size;
};

// The artifact manifest's exact bytes for `bm` carried as `files`.
std::string artifact_manifest(const BundleManifest& bm, const std::vector<ArtifactFile>& files);

// The tag outpost.releases/<name>:<version> → `artifact`; none when the name is not a valid
// repository name (e.g. with capitals: no client could ask for it).
std::optional<MetaDb::ReleaseRecord::Tag> releases_tag(const BundleManifest& bm,
                                                       const Digest& artifact);

// What a release pins so this Outpost re-serves its artifact: the manifest (`manifest` is its
// bytes), the config, every file and its releases_tag.
ExtraPins artifact_release_pins(const BundleManifest& bm, std::string_view manifest,
                                const std::vector<ArtifactFile>& files);

}  // namespace outpost::bundle
