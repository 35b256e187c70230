#pragma once
// Resumable uploads of bundle files into a running Outpost (PUT /api/v1/uploads/<name>/<version>,
// `outpost bundle import --server URL FILE`). Chunks are appended in order to
// <data_dir>/uploads/<name>/<version>.part; the declared size and sha256 live beside it
// (<version>.json), so an upload cut at any byte (or a server killed mid-chunk) resumes at the
// bytes held. At most one chunk of a request is in memory; nothing is published here: a complete
// upload is handed to ReleaseJobs, which verifies and imports it like any bundle file.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/mutex.hpp"

namespace outpost::bundle {

struct UploadState {
  std::uint64_t offset = 0;  // bytes held
  std::uint64_t size = 0;    // bytes declared
  Digest digest;             // sha256 declared for the whole file
  std::filesystem::path file;
  bool complete() const { return offset == size; }
};

struct Appended {
  enum class Outcome {
    appended,      // the chunk is held; `state` says how far the upload is
    wrong_offset,  // the chunk does not start where the upload is: resume from state.offset
    other_upload,  // another file (size or digest) is being uploaded for this release
  } outcome;
  UploadState state;
};

class Uploads {
 public:
  // `dir`: <data_dir>/uploads (created when needed).
  explicit Uploads(std::filesystem::path dir);

  // The upload in progress for a release, if any. Errc::invalid_argument for bad names.
  Result<std::optional<UploadState>> state(const std::string& name, const std::string& version);
  // Appends `chunk` at `offset` to the upload of a `size`-byte file with sha256 `digest`. A new
  // upload starts at offset 0 (replacing one of another file that holds no byte yet).
  // Errc::no_space when the filesystem cannot hold the rest of the file; Errc::io otherwise.
  Result<Appended> append(const std::string& name, const std::string& version, std::uint64_t size,
                          const Digest& digest, std::uint64_t offset, std::string_view chunk);
  // Forgets an upload (after its import, or on DELETE).
  void remove(const std::string& name, const std::string& version);

 private:
  Result<std::filesystem::path> base(const std::string& name, const std::string& version) const;
  Result<std::optional<UploadState>> state_locked(const std::string& name,
                                                  const std::string& version) REQUIRES(mu_);
  void remove_locked(const std::string& name, const std::string& version) REQUIRES(mu_);
  std::filesystem::path dir_;
  // One call at a time: chunks of one upload never interleave, and a DELETE (remove) never
  // unlinks an upload while a chunk is appended to it.
  Mutex mu_;
};

}  // namespace outpost::bundle
