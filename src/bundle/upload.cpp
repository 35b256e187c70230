#include "bundle/upload.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "bundle/bundle_manifest.hpp"
#include "core/fd.hpp"
#include "store/atomic_file.hpp"

namespace outpost::bundle {
namespace fs = std::filesystem;
namespace {

// Writes the declaration atomically and durably (a crash leaves the old one or the new one).
Result<void> write_meta(const fs::path& meta, std::uint64_t size, const Digest& digest) {
  return write_file_atomically(meta,
                               nlohmann::json({{"size", size}, {"digest", digest.str()}}).dump());
}

}  // namespace

Uploads::Uploads(fs::path dir) : dir_(std::move(dir)) {}

Result<fs::path> Uploads::base(const std::string& name, const std::string& version) const {
  if (!valid_release_part(name) || !valid_release_part(version))
    return fail(Errc::invalid_argument,
                "release name and version must match [A-Za-z0-9][A-Za-z0-9._-]*");
  return dir_ / name / version;
}

Result<std::optional<UploadState>> Uploads::state(const std::string& name,
                                                  const std::string& version) {
  MutexLock lock(mu_);
  return state_locked(name, version);
}

Result<std::optional<UploadState>> Uploads::state_locked(const std::string& name,
                                                         const std::string& version) {
  auto b = base(name, version);
  if (!b) return std::unexpected(b.error());
  std::ifstream in(b->string() + ".json");
  if (!in) return std::optional<UploadState>();
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("size") || !j.contains("digest"))
    return std::optional<UploadState>();  // a torn declaration: as if none
  auto d = Digest::parse(j.value("digest", ""));
  if (!d) return std::optional<UploadState>();
  UploadState st{0, j.value("size", std::uint64_t{0}), *d, fs::path(b->string() + ".part")};
  std::error_code ec;
  auto held = fs::file_size(st.file, ec);
  st.offset = ec ? 0 : std::min<std::uint64_t>(held, st.size);
  return std::optional<UploadState>(std::move(st));
}

Result<Appended> Uploads::append(const std::string& name, const std::string& version,
                                 std::uint64_t size, const Digest& digest, std::uint64_t offset,
                                 std::string_view chunk) {
  MutexLock lock(mu_);
  auto b = base(name, version);
  if (!b) return std::unexpected(b.error());
  auto now = state_locked(name, version);
  if (!now) return std::unexpected(now.error());
  if (*now && ((*now)->size != size || (*now)->digest != digest)) {
    if ((*now)->offset > 0) return Appended{Appended::Outcome::other_upload, **now};
    remove_locked(name, version);  // a declaration with no byte behind it: start the new one
    now->reset();
  }
  if (!*now) {
    if (offset != 0)
      return Appended{Appended::Outcome::wrong_offset,
                      UploadState{0, size, digest, fs::path(b->string() + ".part")}};
    std::error_code ec;
    fs::create_directories(b->parent_path(), ec);
    if (ec) return fail(Errc::io, "creating " + b->parent_path().string() + ": " + ec.message());
    if (auto r = write_meta(b->string() + ".json", size, digest); !r)
      return std::unexpected(r.error());
    *now = UploadState{0, size, digest, fs::path(b->string() + ".part")};
  }
  UploadState st = **now;
  if (offset != st.offset) return Appended{Appended::Outcome::wrong_offset, st};
  if (chunk.size() > st.size - st.offset)
    return fail(Errc::invalid_argument,
                fmt::format("the chunk runs past the declared size ({} bytes)", st.size));
  struct statvfs fsinfo {};
  if (::statvfs(b->parent_path().c_str(), &fsinfo) == 0 &&
      static_cast<std::uint64_t>(fsinfo.f_bavail) * fsinfo.f_frsize < st.size - st.offset)
    return fail(Errc::no_space,
                fmt::format("{} more bytes do not fit on the data volume", st.size - st.offset));
  UniqueFd fd(::open(st.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("opening " + st.file.string(), errno);
  // What was written of a failed chunk stays (it is the file's next bytes); the client resumes
  // after it.
  if (auto w = write_all(fd.get(), chunk, "writing " + st.file.string()); !w)
    return std::unexpected(w.error());
  if (::fdatasync(fd.get()) != 0) return fail_errno("syncing " + st.file.string(), errno);
  st.offset += chunk.size();
  return Appended{Appended::Outcome::appended, st};
}

void Uploads::remove(const std::string& name, const std::string& version) {
  MutexLock lock(mu_);
  remove_locked(name, version);
}

void Uploads::remove_locked(const std::string& name, const std::string& version) {
  auto b = base(name, version);
  if (!b) return;
  std::error_code ec;
  fs::remove(b->string() + ".part", ec);
  fs::remove(b->string() + ".json", ec);
}

}  // namespace outpost::bundle
