#include "core/fd.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace outpost {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<UniqueFd> memfd_holding(const char* name, std::string_view bytes) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return fail_errno("memfd_create", errno);
  for (std::size_t off = 0; off < bytes.size();) {
    ssize_t n = ::write(fd.get(), bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("writing a memfd", errno);
    off += static_cast<std::size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail_errno("seeking a memfd", errno);
  return fd;
}

}  // namespace outpost
