#pragma once
// Verifies the store: re-hashes every blob, quarantines the ones whose bytes no longer match
// their name, and reconciles meta.db with the files (rows without files are dropped, files
// without rows are registered).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost {

struct FsckReport {
  std::uint64_t blobs_checked = 0;
  std::uint64_t bytes_checked = 0;
  std::vector<std::string> corrupt;         // quarantined blob names
  std::vector<std::string> stray;           // files under blobs/ that are not a digest (left alone)
  std::uint64_t missing_rows_dropped = 0;   // metadata rows whose blob file is gone
  std::uint64_t unrecorded_registered = 0;  // published blobs the crash kept out of meta.db
  std::uint64_t tmp_removed = 0;
  bool db_ok = true;
  bool clean() const { return corrupt.empty() && missing_rows_dropped == 0 && db_ok; }
};

// `elsewhere`: blobs held outside the local store (an object store behind it, hex -> size): a
// record whose local file is gone but which is held there is kept.
FsckReport run_fsck(BlobStore& store, MetaDb& db,
                    const std::map<std::string, std::uint64_t>* elsewhere = nullptr);

}  // namespace outpost
