#include "core/semver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace outpost {
namespace {

std::optional<unsigned long long> number(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool ident_ok(std::string_view s) {
  return !s.empty() && std::ranges::all_of(s, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    auto next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string_view::npos ? next : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

bool is_wild(std::string_view p) {
  return p == "x" || p == "X" || p == "*";
}

// A comparator's version: up to three numeric parts, each possibly a wildcard or missing
// (`given` counts the parts written as numbers before the first wildcard or end).
struct Partial {
  SemVer v;
  int given = 0;
};

std::optional<Partial> parse_partial(std::string_view s) {
  if (s.starts_with('v') || s.starts_with('V')) s.remove_prefix(1);
  Partial out;
  if (auto plus = s.find('+'); plus != std::string_view::npos) s = s.substr(0, plus);
  std::string_view pre;
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    pre = s.substr(dash + 1);
    s = s.substr(0, dash);
  }
  auto parts = split(s, '.');
  if (parts.size() > 3) return std::nullopt;
  unsigned long long* fields[] = {&out.v.major, &out.v.minor, &out.v.patch};
  bool wild = false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (is_wild(parts[i])) {
      wild = true;
      continue;
    }
    if (wild) return std::nullopt;  // "1.x.3"
    auto n = number(parts[i]);
    if (!n) return std::nullopt;
    *fields[i] = *n;
    ++out.given;
  }
  if (!pre.empty()) {
    if (out.given < 3) return std::nullopt;
    for (auto id : split(pre, '.')) {
      if (!ident_ok(id)) return std::nullopt;
      out.v.pre.emplace_back(id);
    }
  }
  return out;
}

SemVer bump(const SemVer& v, int at) {  // the next version at part `at` (0 major, 1 minor, 2 patch)
  SemVer n;
  n.major = v.major + (at == 0);
  n.minor = at >= 1 ? v.minor + (at == 1) : 0;
  n.patch = at == 2 ? v.patch + 1 : 0;
  return n;
}

// One alternative of a range split into comparators: by blanks and commas, an operator written
// apart from its version (">= 1.4.0") joined to it.
std::vector<std::string> range_tokens(std::string_view alt) {
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : alt) {
    if (c == ' ' || c == ',' || c == '\t') {
      if (!cur.empty()) tokens.push_back(std::exchange(cur, {}));
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tokens.push_back(cur);
  std::vector<std::string> joined;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (t.find_first_not_of("<>=!~^") == std::string::npos && t != "-" && i + 1 < tokens.size())
      joined.push_back(t + tokens[++i]);
    else
      joined.push_back(t);
  }
  return joined;
}

}  // namespace

std::optional<SemVer> SemVer::parse(std::string_view tag) {
  std::string t(tag);
  std::ranges::replace(t, '_', '+');  // OCI tags cannot hold '+': clients write '_'
  std::string_view s = t;
  SemVer v;
  if (auto plus = s.find('+'); plus != std::string_view::npos) {
    v.build = std::string(s.substr(plus + 1));
    if (v.build.empty()) return std::nullopt;
    s = s.substr(0, plus);
  }
  auto p = parse_partial(s);
  if (!p || p->given == 0) return std::nullopt;
  // Wildcards are for ranges; a tag must be all numbers where it has parts.
  const auto core = s.substr(0, s.find('-'));
  if (std::ranges::any_of(split(core, '.'), is_wild)) return std::nullopt;
  v.major = p->v.major;
  v.minor = p->v.minor;
  v.patch = p->v.patch;
  v.pre = p->v.pre;
  return v;
}

std::string SemVer::str() const {
  std::string s = fmt::format("{}.{}.{}", major, minor, patch);
  for (std::size_t i = 0; i < pre.size(); ++i) s += (i ? "." : "-") + pre[i];
  if (!build.empty()) s += "+" + build;
  return s;
}

int compare(const SemVer& a, const SemVer& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  if (a.pre.empty() || b.pre.empty())
    return a.pre.empty() == b.pre.empty() ? 0 : a.pre.empty() ? 1 : -1;
  for (std::size_t i = 0; i < std::min(a.pre.size(), b.pre.size()); ++i) {
    auto na = number(a.pre[i]), nb = number(b.pre[i]);
    if (na && nb && *na != *nb) return *na < *nb ? -1 : 1;
    if (na.has_value() != nb.has_value()) return na ? -1 : 1;  // numeric ids sort first
    if (!na && a.pre[i] != b.pre[i]) return a.pre[i] < b.pre[i] ? -1 : 1;
  }
  if (a.pre.size() == b.pre.size()) return 0;
  return a.pre.size() < b.pre.size() ? -1 : 1;
}

bool SemVerRange::looks_like_range(std::string_view text) {
  return text.find_first_of("<>=!~^*| ,") != std::string_view::npos ||
         std::ranges::any_of(split(text, '.'), is_wild);
}

Result<SemVerRange> SemVerRange::parse(std::string_view text) {
  using Op = Comparator::Op;
  SemVerRange r;
  for (auto alt : [&] {
         std::vector<std::string_view> parts;
         for (std::size_t at = 0;;) {
           auto next = text.find("||", at);
           parts.push_back(text.substr(at, next == std::string_view::npos ? next : next - at));
           if (next == std::string_view::npos) return parts;
           at = next + 2;
         }
       }()) {
    auto joined = range_tokens(alt);
    if (joined.empty()) return fail(Errc::invalid_argument, fmt::format("'{}': empty range", text));
    std::vector<Comparator> all;
    for (std::size_t i = 0; i < joined.size(); ++i) {
      std::string_view t = joined[i];
      if (i + 2 < joined.size() && joined[i + 1] == "-") {  // hyphen range "1.2 - 1.4"
        auto lo = parse_partial(t), hi = parse_partial(joined[i + 2]);
        if (!lo || !hi) return fail(Errc::invalid_argument, fmt::format("'{}': bad range", text));
        all.push_back({Op::ge, lo->v});
        if (hi->given == 3)
          all.push_back({Op::le, hi->v});
        else if (hi->given > 0)
          all.push_back({Op::lt, bump(hi->v, hi->given - 1)});
        i += 2;
        continue;
      }
      std::string_view op;
      for (std::string_view o : {">=", "<=", "!=", "~>", ">", "<", "=", "~", "^"})
        if (t.starts_with(o)) {
          op = o;
          break;
        }
      auto p = parse_partial(t.substr(op.size()));
      if (!p) return fail(Errc::invalid_argument, fmt::format("'{}': '{}' is no version", text, t));
      const SemVer& v = p->v;
      const int g = p->given;
      if (op == "^") {
        int at = v.major > 0 || g <= 1 ? 0 : (v.minor > 0 || g == 2 ? 1 : 2);
        all.push_back({Op::ge, v});
        all.push_back({Op::lt, bump(v, at)});
      } else if (op == "~" || op == "~>") {
        all.push_back({Op::ge, v});
        all.push_back({Op::lt, bump(v, g <= 1 ? 0 : 1)});
      } else if (op.empty() || op == "=") {
        if (g == 3) {
          all.push_back({Op::eq, v});
        } else {
          all.push_back({Op::ge, v});
          if (g > 0) all.push_back({Op::lt, bump(v, g - 1)});
        }
      } else if (op == "!=") {
        all.push_back({Op::ne, v});
      } else if (op == ">") {
        all.push_back(g == 3 ? Comparator{Op::gt, v}
                             : Comparator{Op::ge, bump(v, std::max(g, 1) - 1)});
      } else if (op == ">=") {
        all.push_back({Op::ge, v});
      } else if (op == "<") {
        all.push_back({Op::lt, v});
      } else {  // "<="
        all.push_back(g == 3 ? Comparator{Op::le, v}
                             : Comparator{Op::lt, bump(v, std::max(g, 1) - 1)});
      }
    }
    r.any_of_.push_back(std::move(all));
  }
  return r;
}

bool SemVerRange::matches(const SemVer& v) const {
  using Op = Comparator::Op;
  for (const auto& all : any_of_) {
    bool ok = true, pre_named = v.pre.empty();
    for (const auto& c : all) {
      const int k = compare(v, c.v);
      const bool hit = c.op == Op::eq   ? k == 0
                       : c.op == Op::ne ? k != 0
                       : c.op == Op::gt ? k > 0
                       : c.op == Op::ge ? k >= 0
                       : c.op == Op::lt ? k < 0
                                        : k <= 0;
      ok = ok && hit;
      if (!c.v.pre.empty() && c.v.major == v.major && c.v.minor == v.minor && c.v.patch == v.patch)
        pre_named = true;
    }
    if (ok && pre_named) return true;
  }
  return false;
}

}  // namespace outpost
