#include "registry/image_ref.hpp"

#include <fmt/format.h>

#include "registry/reference.hpp"

namespace outpost::registry {

std::string ImageRef::str() const {
  std::string s = registry + "/" + repo;
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

Result<ImageRef> parse_image_ref(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("invalid image reference '{}': {}", text, why));
  };
  if (text.empty()) return bad("empty");
  ImageRef ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto d = Digest::parse(rest.substr(at + 1));
    if (!d) return bad(d.error().message);
    ref.digest = *d;
    rest = rest.substr(0, at);
  }
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!valid_tag(ref.tag)) return bad("invalid tag");
  }
  auto slash = rest.find('/');
  if (slash != std::string_view::npos && looks_like_registry_host(rest.substr(0, slash))) {
    ref.registry = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
  } else {
    ref.registry = "docker.io";
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io")
    ref.registry = "docker.io";
  if (!valid_repository(rest)) return bad("invalid repository name");
  ref.repo = normalize_docker_hub(ref.registry, rest);
  // "library/" may push a Docker Hub name past the limit (found by fuzz_image_ref)
  if (!valid_repository(ref.repo)) return bad("repository name too long once normalised");
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

}  // namespace outpost::registry
