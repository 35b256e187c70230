#include "core/fd.hpp"

#include <unistd.h>

namespace outpost {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace outpost
