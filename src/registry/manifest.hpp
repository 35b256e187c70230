#pragma once
// Reading just enough of manifest JSON: whether it is an index, and which manifests it lists.
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.hpp"

namespace outpost::registry {

// Media types sent upstream in Accept for manifest requests.
extern const char* const kManifestAccept;
constexpr std::size_t kMaxManifestBytes = 4 << 20;

bool is_index_media_type(std::string_view media_type);

struct Descriptor {
  Digest digest;
  std::uint64_t size = 0;
  std::string media_type;
  std::string platform;  // an index entry's "os/architecture", "" when it names none
  std::string variant;   // its platform variant ("v8"), if any
  // `want` is "os/arch" or "os/arch/variant".
  bool matches_platform(std::string_view want) const;
};

struct ManifestInfo {
  std::string media_type;             // the document's own mediaType field, if any
  std::vector<Descriptor> manifests;  // children of an index / manifest list
  std::vector<Descriptor> blobs;      // config and layers of an image manifest
};

// Errc::invalid_argument when the bytes are not a JSON object or list malformed digests.
Result<ManifestInfo> parse_manifest(std::string_view bytes);

}  // namespace outpost::registry
