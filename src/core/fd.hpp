#pragma once
// RAII owner of a POSIX file descriptor. Non-copyable; closes on destruction.
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace outpost {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Writes all of `bytes` to `fd`, through short writes and EINTR: the one write loop. With
// `offset`, at that offset (pwrite; the file position is left alone). Errc::no_space or
// Errc::io from errno, naming `what`.
Result<void> write_all(int fd, std::string_view bytes, std::string_view what,
                       std::optional<std::uint64_t> offset = std::nullopt);

// An anonymous in-memory file (memfd, close-on-exec) holding `bytes`, positioned at its start: a
// child's stdin that cannot deadlock against its stdout the way a pipe can.
Result<UniqueFd> memfd_holding(const char* name, std::string_view bytes);

}  // namespace outpost
