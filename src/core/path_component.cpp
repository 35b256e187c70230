#include "core/path_component.hpp"

namespace outpost {

bool plain_path_component(std::string_view c) {
  if (c.empty() || c.size() > 100) return false;
  if (c.front() == '.' || c.front() == '-') return false;
  if (c.ends_with(".lock")) return false;
  for (char ch : c) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool plain_relative_path(std::string_view path, int max_depth) {
  int depth = 0;
  for (;;) {
    auto slash = path.find('/');
    if (!plain_path_component(path.substr(0, slash))) return false;
    if (++depth > max_depth) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace outpost
