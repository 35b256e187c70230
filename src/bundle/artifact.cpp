#include "bundle/artifact.hpp"

#include <nlohmann/json.hpp>

#include <map>

#include "registry/reference.hpp"
#include "registry/route.hpp"

namespace outpost::bundle {
namespace {

// The media type a bundle file is carried as.
std::string media_type_of(const ArtifactFile& f, const std::map<Digest, std::string>& known) {
  if (f.path == kBundleJson) return "application/vnd.outpost.bundle.v1+json";
  if (f.path == kBundleSig) return "application/vnd.outpost.bundle.signature.v1";
  if (f.path == "oci-layout") return "application/vnd.oci.layout.header.v1+json";
  if (f.path == "index.json") return "application/vnd.oci.image.index.v1+json";
  auto it = known.find(f.digest);
  if (it != known.end() && !it->second.empty()) return it->second;
  return "application/octet-stream";
}

}  // namespace

std::string artifact_manifest(const BundleManifest& bm, const std::vector<ArtifactFile>& files) {
  std::map<Digest, std::string> media_types;
  for (const auto& b : bm.blobs) media_types.emplace(b.digest, b.media_type);
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& f : files)
    layers.push_back({{"mediaType", media_type_of(f, media_types)},
                      {"digest", f.digest.str()},
                      {"size", f.size},
                      {"annotations", {{kTitleAnnotation, f.path}}}});
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", kArtifactManifestType},
                             {"artifactType", kBundleArtifactType},
                             {"config",
                              {{"mediaType", "application/vnd.oci.empty.v1+json"},
                               {"digest", sha256_of(kEmptyConfig).str()},
                               {"size", kEmptyConfig.size()}}},
                             {"layers", std::move(layers)},
                             {"annotations",
                              {{"org.opencontainers.image.created", bm.created_at},
                               {kTitleAnnotation, bm.name},
                               {"org.opencontainers.image.version", bm.version}}}};
  return manifest.dump();
}

std::optional<MetaDb::ReleaseRecord::Tag> releases_tag(const BundleManifest& bm,
                                                       const Digest& artifact) {
  if (!registry::valid_repository(bm.name)) return std::nullopt;
  return MetaDb::ReleaseRecord::Tag{std::string(registry::kReleasesNamespace), bm.name, bm.version,
                                    artifact};
}

ExtraPins artifact_release_pins(const BundleManifest& bm, std::string_view manifest,
                                const std::vector<ArtifactFile>& files) {
  ExtraPins pins;
  const Digest top = sha256_of(manifest);
  pins.blobs.push_back({top, manifest.size(), kArtifactManifestType});
  pins.blobs.push_back({sha256_of(kEmptyConfig), kEmptyConfig.size(), ""});
  for (const auto& f : files) pins.blobs.push_back({f.digest, f.size, ""});
  if (auto tag = releases_tag(bm, top)) pins.tags.push_back(*tag);
  return pins;
}

}  // namespace outpost::bundle
