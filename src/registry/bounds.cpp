#include "registry/bounds.hpp"

namespace outpost::registry {

DocumentBound document_bound(std::string_view path) {
  path = path.substr(0, path.find('?'));
  if (path.find("/manifests/") != std::string_view::npos) return {kMaxManifestBytes, "manifest"};
  if (path.find("/referrers/") != std::string_view::npos)
    return {kMaxManifestBytes, "referrers index"};
  if (path.ends_with("/tags/list")) return {kMaxTagListBytes, "tag list"};
  return {1u << 20, "answer"};
}

}  // namespace outpost::registry
