#pragma once
// The records of the metadata store (store/meta_db.hpp), shared with the database replicas share
// it through (store/shared_meta.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.hpp"
#include "core/time.hpp"

namespace outpost {

struct ManifestRecord {
  std::string media_type;
  std::uint64_t size;
};

struct TagRecord {
  Digest digest;
  UnixSeconds checked_at;  // last time upstream confirmed (or first told us) this digest
};

// The namespace of release artifacts (registry::kReleasesNamespace): no image a pod pulls, so the
// inventory leaves it out.
inline constexpr std::string_view kReleasesUpstream = "outpost.releases";

// A release (a bundle imported): it pins its blobs and maps its tags to its digests.
struct ReleaseRecord {
  std::string name, version;
  std::optional<std::string> base_version;
  struct Blob {
    Digest digest;
    std::uint64_t size;
    std::string manifest_media_type;  // non-empty for manifests
  };
  std::vector<Blob> blobs;
  struct Tag {
    std::string upstream, repo, tag;
    Digest digest;
  };
  std::vector<Tag> tags;
  struct Chart {
    std::string repo;  // <host>/<path> of the chart repository (a helm.upstreams host)
    std::string name, version;
    Digest digest;           // the chart archive
    std::string entry_json;  // its index.yaml entry (JSON), served when upstream is not cached
  };
  std::vector<Chart> charts;
};

}  // namespace outpost
