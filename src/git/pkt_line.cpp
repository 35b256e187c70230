#include "git/pkt_line.hpp"

#include <fmt/format.h>

namespace outpost::git {

std::string pkt_line(std::string_view payload) {
  return fmt::format("{:04x}{}", payload.size() + 4, payload);
}

Result<void> validate_pkt_lines(std::string_view body) {
  if (body.empty()) return fail(Errc::invalid_argument, "empty upload-pack request");
  std::size_t off = 0;
  while (off < body.size()) {
    if (body.size() - off < 4)
      return fail(Errc::invalid_argument, fmt::format("truncated pkt-line header at byte {}", off));
    unsigned len = 0;
    for (int i = 0; i < 4; ++i) {
      char c = body[off + i];
      int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (v < 0)
        return fail(Errc::invalid_argument,
                    fmt::format("malformed pkt-line length at byte {}", off));
      len = len * 16 + static_cast<unsigned>(v);
    }
    if (len <= 2) {  // flush / delim / response-end
      off += 4;
      continue;
    }
    if (len < 4 || len > 65520)
      return fail(Errc::invalid_argument,
                  fmt::format("invalid pkt-line length {} at byte {}", len, off));
    if (off + len > body.size())
      return fail(Errc::invalid_argument, fmt::format("truncated pkt-line at byte {}", off));
    off += len;
  }
  return {};
}

}  // namespace outpost::git
