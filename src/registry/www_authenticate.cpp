#include "registry/www_authenticate.hpp"

#include <cctype>

namespace outpost::registry {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void skip_ws(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == ','))
    s.remove_prefix(1);
}

}  // namespace

std::optional<Challenge> parse_www_authenticate(std::string_view h) {
  skip_ws(h);
  auto sp = h.find(' ');
  Challenge c;
  c.scheme = lower(h.substr(0, sp));
  if (c.scheme != "bearer" && c.scheme != "basic") return std::nullopt;
  if (sp == std::string_view::npos) return c;
  h.remove_prefix(sp + 1);
  while (true) {
    skip_ws(h);
    if (h.empty()) break;
    auto eq = h.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key = lower(h.substr(0, eq));
    while (!key.empty() && key.back() == ' ') key.pop_back();
    h.remove_prefix(eq + 1);
    std::string value;
    if (!h.empty() && h.front() == '"') {
      h.remove_prefix(1);
      while (!h.empty() && h.front() != '"') {
        if (h.front() == '\\' && h.size() > 1) h.remove_prefix(1);
        value.push_back(h.front());
        h.remove_prefix(1);
      }
      if (h.empty()) return std::nullopt;  // unterminated quote
      h.remove_prefix(1);
    } else {
      auto end = h.find(',');
      value = std::string(h.substr(0, end));
      h.remove_prefix(end == std::string_view::npos ? h.size() : end);
    }
    c.params[key] = value;
  }
  return c;
}

}  // namespace outpost::registry
