#include "git/ref_advert.hpp"

#include <fmt/format.h>

#include "git/pkt_line.hpp"

namespace outpost::git {
namespace {

Result<RefAdvert> bad(std::string_view why) {
  return fail(Errc::upstream_error, fmt::format("not a git ref advertisement: {}", why));
}

bool is_oid(std::string_view s) {
  if (s.size() != 40 && s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// "symref=HEAD:refs/heads/main" among the capabilities → "refs/heads/main".
std::string head_symref(std::string_view caps) {
  constexpr std::string_view key = "symref=HEAD:";
  for (std::size_t at = 0; at < caps.size();) {
    auto end = caps.find(' ', at);
    if (end == std::string_view::npos) end = caps.size();
    auto cap = caps.substr(at, end - at);
    if (cap.starts_with(key)) return std::string(cap.substr(key.size()));
    at = end + 1;
  }
  return {};
}

}  // namespace

Result<RefAdvert> parse_ref_advert(std::string_view body) {
  auto frames = split_pkt_lines(body);
  if (!frames) return bad(frames.error().message);
  const auto& f = *frames;
  if (f.size() < 3 || f[0].kind != Pkt::Kind::data ||
      !f[0].payload.starts_with("# service=git-upload-pack") || f[1].kind != Pkt::Kind::flush)
    return bad("no service header");
  if (f.back().kind != Pkt::Kind::flush) return bad("no closing flush");
  RefAdvert out;
  for (std::size_t i = 2; i + 1 < f.size(); ++i) {
    if (f[i].kind != Pkt::Kind::data) return bad("unexpected special packet");
    auto line = f[i].payload;
    if (line.ends_with('\n')) line.remove_suffix(1);
    if (auto nul = line.find('\0'); nul != std::string_view::npos) {
      out.head = head_symref(line.substr(nul + 1));
      line = line.substr(0, nul);
    }
    auto sp = line.find(' ');
    if (sp == std::string_view::npos || !is_oid(line.substr(0, sp))) return bad("malformed ref");
    auto name = line.substr(sp + 1);
    if (name.ends_with("^{}")) continue;
    if (!name.starts_with("refs/heads/") && !name.starts_with("refs/tags/")) continue;
    out.refs.emplace(name, line.substr(0, sp));
  }
  return out;
}

}  // namespace outpost::git
