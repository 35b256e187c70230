#include "http/range.hpp"

#include <charconv>

namespace outpost::http {
namespace {

std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

RangeResult parse_range(std::optional<std::string_view> header, std::uint64_t size) {
  if (!header) return {};
  std::string_view h = trim(*header);
  if (!h.starts_with("bytes=")) return {};
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return {};  // multi-range: send the whole body
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return {};
  auto a = trim(h.substr(0, dash));
  auto b = trim(h.substr(dash + 1));
  RangeResult r;
  if (a.empty()) {  // suffix: last n bytes
    auto n = number(b);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeKind::unsatisfiable, {}};
    std::uint64_t len = std::min(*n, size);
    return {RangeKind::satisfiable, {size - len, len}};
  }
  auto first = number(a);
  if (!first) return {};
  std::uint64_t last = size ? size - 1 : 0;
  if (!b.empty()) {
    auto l = number(b);
    if (!l || *l < *first) return {};
    last = std::min(*l, last);
  }
  if (*first >= size) return {RangeKind::unsatisfiable, {}};
  r.kind = RangeKind::satisfiable;
  r.range = {*first, last - *first + 1};
  return r;
}

std::optional<ContentRange> parse_content_range(std::string_view h) {
  if (!h.starts_with("bytes ")) return std::nullopt;
  h.remove_prefix(6);
  auto dash = h.find('-');
  auto slash = h.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
    return std::nullopt;
  auto first = number(h.substr(0, dash));
  if (!first || !number(h.substr(dash + 1, slash - dash - 1))) return std::nullopt;
  auto total = h.substr(slash + 1);
  if (total == "*") return ContentRange{*first, std::nullopt};
  auto t = number(total);
  if (!t) return std::nullopt;
  return ContentRange{*first, *t};
}

}  // namespace outpost::http
