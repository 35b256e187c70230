#pragma once
// Reading bundle tars (libarchive, tar formats only): opening, reading an entry into memory with a
// size bound, and the bundle head (outpost-bundle.json, which must be the first entry).
#include <filesystem>
#include <memory>
#include <string>

#include "bundle/bundle_manifest.hpp"

struct archive;

namespace outpost::bundle {

using TarReader = std::unique_ptr<archive, int (*)(archive*)>;

Result<TarReader> open_tar(const std::filesystem::path& file);
// The current entry's data, refused beyond `limit` bytes.
Result<std::string> read_entry(archive* a, std::size_t limit);

struct BundleHead {
  BundleManifest manifest;
  std::string json;  // the exact bytes (signatures are over these)
};
// Reads the first entry, which must be outpost-bundle.json.
Result<BundleHead> read_bundle_head(archive* a);

}  // namespace outpost::bundle
