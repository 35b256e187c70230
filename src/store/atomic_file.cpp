#include "store/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include <fmt/format.h>

#include "core/fd.hpp"
#include "store/blob_store.hpp"

namespace outpost {
namespace fs = std::filesystem;

Result<void> write_file_atomically(const fs::path& path, std::string_view bytes) {
  static std::atomic<std::uint64_t> counter{0};
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return fail(Errc::io, fmt::format("create {}: {}", path.parent_path().string(), ec.message()));
  auto tmp = path;
  tmp += fmt::format(".tmp.{}.{}", ::getpid(), counter++);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("create " + tmp.string(), errno);
  auto discard = [&](std::unexpected<Error> e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto w = write_all(fd.get(), bytes, "write " + tmp.string()); !w)
    return discard(std::unexpected(w.error()));
  if (::fsync(fd.get()) != 0) return discard(fail_errno("fsync " + tmp.string(), errno));
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return discard(fail_errno("rename to " + path.string(), errno));
  return fsync_dir(path.parent_path());
}

}  // namespace outpost
