#include "http/growing_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace outpost::http {

void GrowingFile::advance(std::uint64_t end) {
  std::vector<std::function<void()>> waiters;
  {
    MutexLock lock(mu_);
    if (end <= end_) return;
    end_ = end;
    waiters = std::exchange(waiters_, {});
  }
  for (auto& w : waiters) w();
}

void GrowingFile::finish(std::optional<Error> failure) {
  std::vector<std::function<void()>> waiters;
  {
    MutexLock lock(mu_);
    if (state_ != State::growing) return;
    state_ = failure ? State::failed : State::complete;
    if (failure) error_ = std::move(*failure);
    waiters = std::exchange(waiters_, {});
  }
  for (auto& w : waiters) w();
}

std::uint64_t GrowingFile::readable() const {
  MutexLock lock(mu_);
  return end_;
}

Result<std::size_t> GrowingFile::read_at(std::uint64_t offset, std::span<char> buf) {
  std::uint64_t avail;
  {
    MutexLock lock(mu_);
    if (state_ == State::failed) return std::unexpected(error_);
    avail = end_ > offset ? end_ - offset : 0;
  }
  if (avail == 0) return 0;
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(avail, buf.size()));
  for (;;) {
    ssize_t n = ::pread(fd_.get(), buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading a file being written", errno);
    return static_cast<std::size_t>(n);
  }
}

void GrowingFile::notify_when_readable(std::uint64_t offset, std::function<void()> wake) {
  {
    MutexLock lock(mu_);
    if (end_ <= offset && state_ == State::growing) {
      waiters_.push_back(std::move(wake));
      return;
    }
  }
  wake();
}

bool GrowingFile::ended_at(std::uint64_t offset) {
  MutexLock lock(mu_);
  return state_ == State::complete && offset >= end_;
}

}  // namespace outpost::http
