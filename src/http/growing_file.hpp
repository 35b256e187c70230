#pragma once
// A file that one producer appends to while any number of readers stream it: the one growing-file
// stream (blob downloads, shared upload-pack runs). The producer says how far readers may read
// (never lowered) and how the file ended; readers pread at their own offsets and are woken once
// more may be read or it ended. A failed file fails every read, so a response is cut, never
// completed short. Thread-safe.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/mutex.hpp"
#include "http/message.hpp"

namespace outpost::http {

class GrowingFile : public StreamSource {
 public:
  // `fd`: the file, for pread (a descriptor of its own: the producer's may be closed first).
  explicit GrowingFile(UniqueFd fd) : fd_(std::move(fd)) {}

  // Producer: readers may read up to `end` (a lower value than before is ignored).
  void advance(std::uint64_t end);
  // Producer: the file is complete (nullopt: readers read to the readable end and it has ended)
  // or failed (every read fails with it). Once only.
  void finish(std::optional<Error> failure);
  std::uint64_t readable() const;

  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buf) override;
  void notify_when_readable(std::uint64_t offset, std::function<void()> wake) override;
  bool ended_at(std::uint64_t offset) override;

 private:
  enum class State { growing, complete, failed };

  const UniqueFd fd_;
  mutable Mutex mu_;
  std::uint64_t end_ GUARDED_BY(mu_) = 0;
  State state_ GUARDED_BY(mu_) = State::growing;
  Error error_ GUARDED_BY(mu_) = {Errc::internal, ""};
  std::vector<std::function<void()>> waiters_ GUARDED_BY(mu_);
};

}  // namespace outpost::http
