#include "registry/reference.hpp"

namespace outpost::registry {
namespace {

bool alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool valid_component(std::string_view c) {
  if (c.empty() || !alnum_lower(c.front()) || !alnum_lower(c.back())) return false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (alnum_lower(ch)) continue;
    // separators: '.', '_', '__', '-'+ ; each must sit between alphanumerics
    if (ch == '.') {
      if (!alnum_lower(c[i + 1])) return false;
    } else if (ch == '_') {
      if (c[i + 1] == '_') {
        ++i;
        if (!alnum_lower(c[i + 1])) return false;
      } else if (!alnum_lower(c[i + 1])) {
        return false;
      }
    } else if (ch == '-') {
      while (c[i + 1] == '-') ++i;
      if (!alnum_lower(c[i + 1])) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

bool valid_repository(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  std::size_t start = 0;
  for (;;) {
    auto slash = name.find('/', start);
    auto comp = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!valid_component(comp)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto ok = [](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
      return true;
    return !first && (c == '.' || c == '-');
  };
  for (std::size_t i = 0; i < tag.size(); ++i)
    if (!ok(tag[i], i == 0)) return false;
  return true;
}

bool looks_like_registry_host(std::string_view component) {
  return component.find('.') != std::string_view::npos ||
         component.find(':') != std::string_view::npos || component == "localhost";
}

std::string normalize_docker_hub(std::string_view upstream_name, std::string_view repo) {
  if (upstream_name == "docker.io" && repo.find('/') == std::string_view::npos)
    return "library/" + std::string(repo);
  return std::string(repo);
}

}  // namespace outpost::registry
