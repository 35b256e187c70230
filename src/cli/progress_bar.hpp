#pragma once
// Progress of a long CLI job on stderr. On a terminal: one line redrawn in place, a bar with
// percent, bytes, rate and time left, with notes printed above it. Not on a terminal (CI logs,
// kubectl logs of a PreSync Job): plain lines, one per note and one per 10% of the transfer.
#include <chrono>
#include <cstdio>
#include <string>

#include "core/progress.hpp"

namespace outpost::cli {

enum class Render { automatic, bar, lines };

class ProgressBar final : public ProgressSink {
 public:
  explicit ProgressBar(std::string label, Render mode = Render::automatic, std::FILE* out = stderr);
  ~ProgressBar() override;  // ends the bar's line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void note(std::string_view line) override;
  void bytes(std::uint64_t done, std::uint64_t total) override;
  // Replaces the label (e.g. the job's current state) and redraws.
  void set_label(std::string label);

  // The bar line for a position (exposed for tests): "label [=====>    ]  45%  12.3/27.0 MiB …".
  static std::string render(std::string_view label, std::uint64_t done, std::uint64_t total,
                            double bytes_per_second, std::size_t width);

 private:
  void draw(bool force);
  void clear();

  std::string label_;
  std::FILE* out_;
  bool tty_;
  std::uint64_t done_ = 0, total_ = 0;
  bool drawn_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

// Human sizes: 512 B, 12.3 KiB, 4.0 MiB, 1.2 GiB.
std::string human_bytes(std::uint64_t n);

}  // namespace outpost::cli
