#pragma once
// outpost-bundle.json: the first entry of a bundle tar. Names the release and lists every image
// (with the digest its tag resolved to) and every blob the release needs, marking which blobs the
// tar carries (a delta leaves out what its base release already has).
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/error.hpp"

namespace outpost::bundle {

inline constexpr const char* kBundleJson = "outpost-bundle.json";
inline constexpr const char* kBundleSig = "outpost-bundle.json.sig";

// A manifest that refers to an image (`subject`): a signature, SBOM or attestation, carried with
// `bundle create --with-referrers` and served offline by the referrers API after import.
struct BundleReferrer {
  Digest subject;  // the image's top manifest or one of its platform manifests
  Digest digest;   // the referrer's manifest (also listed in blobs)
  std::uint64_t size = 0;
  std::string media_type, artifact_type;
  std::string annotations_json;  // a JSON object, "" for none
};

// A tag of the cosign / referrers-tag scheme (`sha256-<hex>`, `sha256-<hex>.sig|.att|.sbom`) in
// the image's repository, pinned by the release so it resolves offline.
struct BundleReferrerTag {
  std::string tag;
  Digest digest;
};

struct BundleImage {
  std::string ref;       // normalised reference as manifests write it (registry/repo:tag)
  std::string registry;  // Outpost upstream name
  std::string repo;
  std::string tag;  // may be empty for digest-only references
  Digest digest;    // the top manifest (index or image manifest)
  std::string media_type;
  std::vector<std::string> platforms;
  std::vector<BundleReferrer> referrers;  // --with-referrers
  std::vector<BundleReferrerTag> referrer_tags;
};

// A Helm chart the release needs, from a classic chart repository mirrored at /helm/<repo>/.
struct BundleChart {
  std::string repo;  // <host>[/<path>], host in helm.upstreams
  std::string name, version;
  Digest digest;           // the chart archive (also listed in blobs)
  std::string entry_json;  // its index.yaml entry, served offline when no upstream index is cached
};

inline constexpr const char* kChartMediaType =
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

struct BundleBlob {
  Digest digest;
  std::uint64_t size;
  std::string media_type;  // manifests carry theirs (served as Content-Type); layers may be empty
  bool in_bundle;          // false: the base release provides it
};

struct BundleManifest {
  std::string name;
  std::string version;
  std::string created_at;
  std::string source_repo, source_commit;   // optional provenance
  std::optional<std::string> base_version;  // delta: the release of the same name it builds on
  std::vector<BundleImage> images;
  std::vector<BundleChart> charts;
  std::vector<BundleBlob> blobs;

  std::string to_json() const;
  static Result<BundleManifest> parse(std::string_view json);
};

// Release names and versions: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
bool valid_release_part(std::string_view s);

}  // namespace outpost::bundle
