#pragma once
// GitOps sources stored as OCI artifacts: what Argo CD (`oci://` Applications), Flux
// (OCIRepository) and Helm (OCI charts) pull, and which images a version of one would run. The
// artifact's one content layer is a gzip'd tar: Kubernetes YAML (plain, or kustomize output with
// a kustomization's `images:` overrides applied), or a Helm chart, whose images are read from its
// default values (`image:` strings, and image maps of registry/repository/tag/digest, the tag
// defaulting to the chart's appVersion) and from literal `image:` lines of its templates.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/images.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/manifest.hpp"
#include "registry/mirror.hpp"
#include "store/blob_store.hpp"

namespace outpost::bundle {

inline constexpr std::string_view kHelmConfigType = "application/vnd.cncf.helm.config.v1+json";
inline constexpr std::string_view kHelmContentType =
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
inline constexpr std::string_view kOciLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kFluxContentType =
    "application/vnd.cncf.flux.content.v1.tar+gzip";

struct SourceArtifact {
  enum class Kind { manifests, helm_chart } kind = Kind::manifests;
  Digest content = Digest::from_hex(std::string(64, '0'));  // the content layer
  std::uint64_t content_size = 0;
  std::string content_type;
  std::vector<registry::Descriptor> blobs;  // config and every layer, to hold the artifact whole
};

// Reads an artifact's manifest (an OCI image manifest). Errc::invalid_argument when it is an
// index, unreadable, or has no tar(+gzip) content layer.
Result<SourceArtifact> read_source_artifact(std::string_view manifest);

// Bounds on what a content layer may unpack to (a gzip bomb is refused, not unpacked).
inline constexpr std::uint64_t kMaxContentBytes = 64ull << 20;
inline constexpr std::size_t kMaxContentFiles = 20000;

// The images the content layer's files name (`content`: the layer's bytes, gzip'd or plain tar).
// Errc::invalid_argument naming the file for unreadable content or YAML.
Result<std::vector<ImageUse>> source_images(const SourceArtifact& artifact,
                                            std::string_view content);

// A source artifact fetched whole through `mirror` (its manifest and every blob, verified into
// `store`) and read: what `bundle create --from` and the followed sources' gate both need. Errors
// say which step failed; whatever a parser of the content throws is an Errc::invalid_argument.
struct FetchedSource {
  registry::ManifestResult manifest;
  SourceArtifact artifact;
  std::vector<ImageUse> images;
};
Result<FetchedSource> fetch_source(registry::Mirror& mirror, const BlobStore& store,
                                   const registry::Route& manifest);

}  // namespace outpost::bundle
