#pragma once
// The process's file-descriptor budget: raised at start as nginx and the Go runtime do, and read
// for the standard Prometheus process metrics (process_open_fds, process_max_fds).
#include <cstdint>
#include <optional>

namespace outpost {

struct FdLimit {
  std::uint64_t before = 0;  // the soft limit found
  std::uint64_t now = 0;     // the soft limit after raising it to the hard limit
};

// Raises the soft RLIMIT_NOFILE to the hard limit. Never fails the process: returns what it found
// and what it set (now == before when nothing changed or raising was refused).
FdLimit raise_fd_limit();

// Descriptors open in this process (entries of /proc/self/fd); nullopt when unreadable.
std::optional<std::uint64_t> open_fds();
// The soft RLIMIT_NOFILE.
std::uint64_t max_fds();

}  // namespace outpost
