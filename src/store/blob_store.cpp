#include "store/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <fmt/format.h>

namespace outpost {
namespace fs = std::filesystem;

Result<void> fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open dir " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) return fail_errno("fsync dir " + dir.string(), errno);
  return {};
}

BlobStore::BlobStore(const fs::path& data_dir)
    : blobs_dir_(data_dir / "blobs" / "sha256"),
      tmp_dir_(data_dir / "tmp"),
      quarantine_dir_(data_dir / "quarantine") {
  std::error_code ec;
  for (const auto& d : {blobs_dir_, tmp_dir_}) {
    fs::create_directories(d, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", d.string(), ec.message()));
  }
  for_each([this](const std::optional<Digest>&, const fs::path&, std::uint64_t size) {
    total_bytes_ += size;
  });
}

fs::path BlobStore::path_for(const Digest& d) const {
  auto hex = d.hex();
  return blobs_dir_ / std::string(hex.substr(0, 2)) / std::string(hex);
}

bool BlobStore::contains(const Digest& d) const {
  struct stat st {};
  return ::stat(path_for(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::uint64_t> BlobStore::size_of(const Digest& d) const {
  struct stat st {};
  if (::stat(path_for(d).c_str(), &st) != 0) {
    if (errno == ENOENT) return fail(Errc::not_found, "blob " + d.str() + " not in store");
    return fail_errno("stat blob", errno);
  }
  return static_cast<std::uint64_t>(st.st_size);
}

Result<UniqueFd> BlobStore::open(const Digest& d) const {
  UniqueFd fd(::open(path_for(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return fail(Errc::not_found, "blob " + d.str() + " not in store");
    return fail_errno("open blob", errno);
  }
  return fd;
}

Result<std::string> BlobStore::read_all(const Digest& d, std::size_t max_bytes) const {
  auto fd = open(d);
  if (!fd) return std::unexpected(fd.error());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read blob", errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) return fail(Errc::too_large, "blob too large to load: " + d.str());
  }
  return out;
}

Result<BlobWriter> BlobStore::create_temp() const {
  auto name = fmt::format("{}-{}.part", ::getpid(), tmp_counter_.fetch_add(1));
  auto path = tmp_dir_ / name;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("creating temp blob", errno);
  return BlobWriter(*this, std::move(fd), path);
}

Result<Digest> BlobStore::put(std::string_view bytes, const std::optional<Digest>& expected) {
  if (expected && contains(*expected)) {
    if (sha256_of(bytes) != *expected)
      return fail(Errc::digest_mismatch, "content does not hash to " + expected->str());
    return *expected;
  }
  auto w = create_temp();
  if (!w) return std::unexpected(w.error());
  if (auto r = w->write(bytes); !r) return std::unexpected(r.error());
  return w->commit(expected);
}

std::size_t BlobStore::sweep_tmp() const {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp_dir_, ec)) {
    if (fs::remove_all(e.path(), ec) > 0) ++n;
  }
  return n;
}

Result<void> BlobStore::quarantine(const Digest& d) {
  std::error_code ec;
  fs::create_directories(quarantine_dir_, ec);
  if (ec) return fail(Errc::io, "creating quarantine/: " + ec.message());
  auto from = path_for(d);
  auto size = size_of(d);
  if (::rename(from.c_str(), (quarantine_dir_ / std::string(d.hex())).c_str()) != 0)
    return fail_errno("quarantining blob", errno);
  if (size) total_bytes_ -= *size;
  return fsync_dir(from.parent_path());
}

Result<void> BlobStore::remove(const Digest& d) {
  auto size = size_of(d);
  if (!size) return std::unexpected(size.error());
  if (::unlink(path_for(d).c_str()) != 0) return fail_errno("removing blob", errno);
  total_bytes_ -= *size;
  return {};
}

void BlobStore::for_each(const std::function<void(const std::optional<Digest>&, const fs::path&,
                                                  std::uint64_t)>& fn) const {
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(blobs_dir_, ec)) {
    if (!shard.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(shard.path(), ec)) {
      if (!f.is_regular_file()) continue;
      auto name = f.path().filename().string();
      auto d = Digest::parse("sha256:" + name);
      std::optional<Digest> digest;
      if (d && shard.path().filename() == name.substr(0, 2)) digest = *d;
      fn(digest, f.path(), f.file_size(ec));
    }
  }
}

}  // namespace outpost
