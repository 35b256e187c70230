#pragma once
// `outpost bundle import`: reads a bundle tar as a stream, verifies every blob against its
// digest while reading (staged in tmp/, deduplicated against the store), refuses anything that is
// not the bundle's own layout (no "../x", no absolute paths, no links), and only when everything
// checks out publishes the blobs and records the release in one transaction: its pins, its
// manifests' media types and its tags. Then keeps the newest storage.keep_releases of its name.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "bundle/bundle_manifest.hpp"
#include "core/progress.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::bundle {

struct ImportStats {
  std::string name, version;
  std::size_t blobs = 0, received = 0, deduplicated = 0;
  std::uint64_t bytes_received = 0;
  std::vector<std::string> dropped_releases;  // by retention
};

struct ImportPolicy {
  int keep_releases = 3;
  std::vector<std::string> trust_keys;  // non-empty: a valid signature is required
};

Result<ImportStats> import_bundle_file(const std::filesystem::path& bundle, BlobStore& store,
                                       MetaDb& db, const ImportPolicy& policy,
                                       ProgressSink& progress);

// Steps every importer shares (tar file, oci:// registry):
// A delta whose base release is not recorded → Errc::not_found naming the base.
Result<void> check_base_release(const BundleManifest& bm, MetaDb& db);
// With trust keys, a signature over the exact outpost-bundle.json bytes is required.
Result<void> check_signature(std::string_view json, const std::optional<std::string>& signature,
                             const std::vector<std::string>& trust_keys);
// More a release pins besides its bundle's blobs and image tags: for a bundle imported from a
// registry, the artifact itself (manifest, every layer, its tag), so this Outpost re-serves the
// release to sites that have it as a mirror, offline and never garbage-collected while kept.
struct ExtraPins {
  std::vector<MetaDb::ReleaseRecord::Blob> blobs;
  std::vector<MetaDb::ReleaseRecord::Tag> tags;
};
// REQUIRES: every blob of `bm` and of `extra` is in the store. Records the release (pins, tags)
// in one transaction and applies retention; returns the versions retention dropped.
Result<std::vector<std::string>> record_release(const BundleManifest& bm, MetaDb& db,
                                                int keep_releases, const ExtraPins& extra = {});

}  // namespace outpost::bundle
