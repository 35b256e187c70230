#pragma once
// What the site holds: every image tag cached or pinned here, with what a pull of it needs and
// whether all of that is in the store (GET /api/v1/images, `outpost images --server`), and the
// answer for image references taken from manifests (POST /api/v1/images/check,
// `outpost images --check`: can this site go dark with these manifests?).
#include <string>
#include <vector>

#include "core/config.hpp"
#include "http/message.hpp"
#include "registry/image_ref.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::registry {

// An image's manifest (and, for an index, the platform manifests held) and the blobs they name.
struct ImageHolding {
  std::string media_type;              // "" when the manifest itself is not here
  std::uint64_t size = 0;              // bytes held: manifests and blobs
  std::size_t blobs = 0, missing = 0;  // what a pull needs (manifests included), and what is gone
  std::vector<std::string> platforms;  // an index: the platforms whose image is held whole
  bool local() const;                  // a pull of it is served with no upstream
};
ImageHolding holding(MetaDb& db, const BlobStore& store, const Digest& top);

struct InventoryEntry {
  MetaDb::ImageTagRow tag;
  ImageHolding held;
};
Result<std::vector<InventoryEntry>> inventory(MetaDb& db, const BlobStore& store);
// {"upstreams": [{"name", "repositories": [{"name", "tags": [{tag, digest, media_type, size,
// blobs, blobs_missing, local, platforms, last_pulled, checked_at, releases}]}]}]}
std::string inventory_json(const std::vector<InventoryEntry>& entries);

struct ImageCheck {
  std::string ref;
  bool local = false;
  std::string reason;  // why not (or, when local, what is held: "2 platforms")
};
// An image reference as manifests write it, resolved as the registry mirror would with no
// upstream: a pinned or cached tag, or a digest.
ImageCheck check_image(const RegistryConfig& cfg, MetaDb& db, const BlobStore& store,
                       const ImageRef& ref);

// GET /api/v1/images; POST /api/v1/images/check {"images": ["ref", …]} →
// {"images": [{ref, local, reason}], "missing": N}.
http::Response handle_images(const RegistryConfig& cfg, MetaDb& db, const BlobStore& store,
                             const http::Request& req);

}  // namespace outpost::registry
