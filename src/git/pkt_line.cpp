#include "git/pkt_line.hpp"

#include <fmt/format.h>

namespace outpost::git {

std::string pkt_line(std::string_view payload) {
  return fmt::format("{:04x}{}", payload.size() + 4, payload);
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

Result<std::vector<Pkt>> split_pkt_lines(std::string_view body) {
  std::vector<Pkt> out;
  std::size_t off = 0;
  while (off < body.size()) {
    if (body.size() - off < 4)
      return fail(Errc::invalid_argument, fmt::format("truncated pkt-line header at byte {}", off));
    unsigned len = 0;
    for (int i = 0; i < 4; ++i) {
      int v = hex_digit(body[off + i]);
      if (v < 0)
        return fail(Errc::invalid_argument,
                    fmt::format("malformed pkt-line length at byte {}", off));
      len = len * 16 + static_cast<unsigned>(v);
    }
    if (len <= 2) {  // flush / delim / response-end
      out.push_back({static_cast<Pkt::Kind>(len + 1), {}});
      off += 4;
      continue;
    }
    if (len < 4 || len > 65520)
      return fail(Errc::invalid_argument,
                  fmt::format("invalid pkt-line length {} at byte {}", len, off));
    if (off + len > body.size())
      return fail(Errc::invalid_argument, fmt::format("truncated pkt-line at byte {}", off));
    out.push_back({Pkt::Kind::data, body.substr(off + 4, len - 4)});
    off += len;
  }
  return out;
}

Result<void> validate_pkt_lines(std::string_view body) {
  if (body.empty()) return fail(Errc::invalid_argument, "empty upload-pack request");
  auto frames = split_pkt_lines(body);
  if (!frames) return std::unexpected(frames.error());
  return {};
}

}  // namespace outpost::git
