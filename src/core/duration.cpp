#include "core/duration.hpp"

#include <fmt/format.h>
#include <charconv>

namespace outpost {

Result<Millis> parse_duration(std::string_view text) {
  if (text.empty()) return fail(Errc::invalid_argument, "empty duration");
  std::int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || n < 0)
      return fail(Errc::invalid_argument,
                  fmt::format("'{}' is not a duration (use e.g. 500ms, 30s, 5m, 1h)", text));
    rest.remove_prefix(ptr - rest.data());
    std::int64_t unit = 0;
    if (rest.starts_with("ms")) {
      unit = 1, rest.remove_prefix(2);
    } else if (rest.starts_with("s")) {
      unit = 1000, rest.remove_prefix(1);
    } else if (rest.starts_with("m")) {
      unit = 60'000, rest.remove_prefix(1);
    } else if (rest.starts_with("h")) {
      unit = 3'600'000, rest.remove_prefix(1);
    } else {
      return fail(Errc::invalid_argument, fmt::format("'{}' needs a unit (ms, s, m, h)", text));
    }
    total += n * unit;
  }
  return Millis(total);
}

std::string format_duration(Millis d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0 && ms) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace outpost
