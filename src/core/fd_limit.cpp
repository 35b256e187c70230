#include "core/fd_limit.hpp"

#include <sys/resource.h>

#include <filesystem>

namespace outpost {

FdLimit raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  FdLimit out{rl.rlim_cur, rl.rlim_cur};
  if (rl.rlim_cur >= rl.rlim_max) return out;
  rlimit raised = rl;
  raised.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.now = raised.rlim_cur;
  return out;
}

std::optional<std::uint64_t> open_fds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
  if (ec) return std::nullopt;
  std::uint64_t n = 0;
  for (; it != end; it.increment(ec)) ++n;
  return n > 0 ? n - 1 : 0;  // less the descriptor of this listing
}

std::uint64_t max_fds() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  return rl.rlim_cur;
}

}  // namespace outpost
