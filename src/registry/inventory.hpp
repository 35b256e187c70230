#pragma once
// What the site holds: every image tag cached or pinned here, with what a pull of it needs and
// whether all of that is in the store (GET /api/v1/images, `outpost images --server`), and the
// answer for image references taken from manifests (POST /api/v1/images/check,
// `outpost images --check`: can this site go dark with these manifests?).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "registry/config.hpp"
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
inline constexpr std::size_t kDefaultImagesPage = 500;
inline constexpr std::size_t kMaxImagesPage = 1000;
struct InventoryPage {
  std::vector<InventoryEntry> entries;
  std::optional<MetaDb::ImageKey> next;  // where the next page starts after, when more may follow
};
// Up to `n` entries after `after`, in (upstream, repository, tag) order, each matching every
// word of `words` (lower case) in its name ("upstream/repo:tag"), digest or releases. Memory
// and work grow with the page (and the keys a sparse search passes over), never with the
// whole store held at once.
Result<InventoryPage> inventory_page(MetaDb& db, const BlobStore& store,
                                     const std::optional<MetaDb::ImageKey>& after, std::size_t n,
                                     const std::vector<std::string>& words = {});
// A key as the API's `last` parameter spells it: "upstream/repo:tag".
std::string image_key_text(const MetaDb::ImageKey& k);
std::optional<MetaDb::ImageKey> parse_image_key(std::string_view text);
// {"upstreams": [{"name", "repositories": [{"name", "tags": [{tag, digest, media_type, size,
// blobs, blobs_missing, local, platforms, last_pulled, checked_at, releases}]}]}], "total": N,
// "next": "upstream/repo:tag" (when more may follow)}
std::string inventory_json(const InventoryPage& page, std::uint64_t total);

struct ImageCheck {
  std::string ref;
  bool local = false;
  std::string reason;  // why not (or, when local, what is held: "2 platforms")
};
// An image reference as manifests write it, resolved as the registry mirror would with no
// upstream: a pinned or cached tag, or a digest.
ImageCheck check_image(const RegistryConfig& cfg, MetaDb& db, const BlobStore& store,
                       const ImageRef& ref);

// GET /api/v1/images[?n=N&last=KEY&q=WORDS] (n: 1..1000, default 500; a Link header names the
// next page, as tags/list does); POST /api/v1/images/check {"images": ["ref", …]} →
// {"images": [{ref, local, reason}], "missing": N}.
http::Response handle_images(const RegistryConfig& cfg, MetaDb& db, const BlobStore& store,
                             const http::Request& req);

}  // namespace outpost::registry
