#include "core/fd.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace outpost {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<void> write_all(int fd, std::string_view bytes, std::string_view what,
                       std::optional<std::uint64_t> offset) {
  for (std::size_t off = 0; off < bytes.size();) {
    const char* p = bytes.data() + off;
    const std::size_t left = bytes.size() - off;
    ssize_t n =
        offset ? ::pwrite(fd, p, left, static_cast<off_t>(*offset + off)) : ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(std::string(what), errno);
    if (n == 0) return fail_errno(std::string(what), EIO);
    off += static_cast<std::size_t>(n);
  }
  return {};
}

Result<UniqueFd> memfd_holding(const char* name, std::string_view bytes) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return fail_errno("memfd_create", errno);
  if (auto w = write_all(fd.get(), bytes, "writing a memfd"); !w) return std::unexpected(w.error());
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail_errno("seeking a memfd", errno);
  return fd;
}

}  // namespace outpost
