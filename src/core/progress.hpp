#pragma once
// Progress of a long job (bundle create, import, push), reported by library code and shown by
// whoever runs it: the CLI renders a bar on a terminal and plain lines otherwise, the server keeps
// it as a release job's status. Implementations need not be thread-safe: a job reports from the
// thread that runs it.
#include <cstdint>
#include <functional>
#include <string_view>

namespace outpost {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // A step worth its own line ("resolved …", "verified …").
  virtual void note(std::string_view line) = 0;
  // Position of the job's main transfer, in bytes; `total` 0 when unknown.
  virtual void bytes(std::uint64_t done, std::uint64_t total) = 0;
};

// Discards everything.
class NullProgress final : public ProgressSink {
 public:
  void note(std::string_view) override {}
  void bytes(std::uint64_t, std::uint64_t) override {}
};

// Forwards to functions (either may be empty).
class FunctionProgress final : public ProgressSink {
 public:
  FunctionProgress(std::function<void(std::string_view)> on_note,
                   std::function<void(std::uint64_t, std::uint64_t)> on_bytes)
      : on_note_(std::move(on_note)), on_bytes_(std::move(on_bytes)) {}
  void note(std::string_view line) override {
    if (on_note_) on_note_(line);
  }
  void bytes(std::uint64_t done, std::uint64_t total) override {
    if (on_bytes_) on_bytes_(done, total);
  }

 private:
  std::function<void(std::string_view)> on_note_;
  std::function<void(std::uint64_t, std::uint64_t)> on_bytes_;
};

}  // namespace outpost
