#pragma once
// Image references as Kubernetes manifests write them ("nginx", "ghcr.io/org/app:1.2",
// "repo@sha256:…"), normalised the way container runtimes do: a registry host, a repository,
// and a tag (default "latest") and/or a digest.
#include <optional>
#include <string>
#include <string_view>

#include "core/digest.hpp"
#include "core/error.hpp"

namespace outpost::registry {

struct ImageRef {
  std::string registry;  // "docker.io", "ghcr.io", "localhost:5000"
  std::string repo;      // "library/nginx"
  std::string tag;       // "" only when a digest is given without a tag
  std::optional<Digest> digest;

  // docker.io/library/nginx:latest, ghcr.io/org/app:1.2@sha256:…
  std::string str() const;
  // What to resolve upstream: the digest when pinned, else the tag.
  std::string reference() const { return digest ? digest->str() : tag; }
  auto operator<=>(const ImageRef& o) const { return str() <=> o.str(); }
  bool operator==(const ImageRef& o) const { return str() == o.str(); }
};

// Errc::invalid_argument with a message saying what is wrong.
Result<ImageRef> parse_image_ref(std::string_view text);

}  // namespace outpost::registry
