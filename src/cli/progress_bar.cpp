#include "cli/progress_bar.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

namespace outpost::cli {
namespace {

std::size_t terminal_width(std::FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
  return 80;
}

}  // namespace

std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string ProgressBar::render(std::string_view label, std::uint64_t done, std::uint64_t total,
                                double bytes_per_second, std::size_t width) {
  std::string tail;
  if (total > 0) {
    done = std::min(done, total);
    tail = fmt::format(" {:3}%  {}/{}", done * 100 / total, human_bytes(done), human_bytes(total));
  } else {
    tail = fmt::format("  {}", human_bytes(done));
  }
  if (bytes_per_second > 0) {
    tail += fmt::format("  {}/s", human_bytes(static_cast<std::uint64_t>(bytes_per_second)));
    if (total > done) {
      auto left = static_cast<std::uint64_t>((total - done) / bytes_per_second);
      tail += left >= 60 ? fmt::format("  {}m{:02}s left", left / 60, left % 60)
                         : fmt::format("  {}s left", left);
    }
  }
  std::string head(label);
  const std::size_t fixed = head.size() + tail.size() + 3;
  std::size_t bar = width > fixed + 10 ? std::min<std::size_t>(width - fixed, 40) : 0;
  if (bar == 0 || total == 0) return (head + tail).substr(0, width);
  auto filled = static_cast<std::size_t>(bar * done / total);
  std::string b(filled, '=');
  if (filled < bar) b += '>';
  b.resize(bar, ' ');
  return fmt::format("{} [{}]{}", head, b, tail);
}

ProgressBar::ProgressBar(std::string label, Render mode, std::FILE* out)
    : label_(std::move(label)),
      out_(out),
      tty_(mode == Render::bar || (mode == Render::automatic && ::isatty(::fileno(out)))) {}

ProgressBar::~ProgressBar() {
  if (tty_ && drawn_) {
    draw(true);
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void ProgressBar::clear() {
  if (tty_ && drawn_) std::fputs("\r\033[K", out_);
}

void ProgressBar::note(std::string_view line) {
  clear();
  std::fprintf(out_, "  %.*s\n", static_cast<int>(line.size()), line.data());
  if (tty_ && drawn_) draw(true);
  std::fflush(out_);
}

void ProgressBar::set_label(std::string label) {
  if (label == label_) return;
  label_ = std::move(label);
  if (tty_)
    draw(true);
  else
    note(label_);
}

void ProgressBar::bytes(std::uint64_t done, std::uint64_t total) {
  done_ = done;
  total_ = total;
  draw(false);
}

void ProgressBar::draw(bool force) {
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0.5 ? static_cast<double>(done_) / secs : 0;
  if (!tty_) {
    if (total_ == 0) return;
    int decile = static_cast<int>(std::min(done_, total_) * 10 / total_);
    if (decile == last_decile_ && !force) return;
    last_decile_ = decile;
    std::fprintf(out_, "%s\n", render(label_, done_, total_, rate, 200).c_str());
    std::fflush(out_);
    return;
  }
  if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  std::fprintf(out_, "\r\033[K%s",
               render(label_, done_, total_, rate, terminal_width(out_) - 1).c_str());
  std::fflush(out_);
}

}  // namespace outpost::cli
