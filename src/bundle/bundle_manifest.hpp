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

struct BundleImage {
  std::string ref;       // normalised reference as manifests write it (registry/repo:tag)
  std::string registry;  // Outpost upstream name
  std::string repo;
  std::string tag;  // may be empty for digest-only references
  Digest digest;    // the top manifest (index or image manifest)
  std::string media_type;
  std::vector<std::string> platforms;
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
