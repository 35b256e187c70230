#pragma once
// The canary: a tiny image Outpost itself serves under every upstream's name, as
// <upstream>/outpost-canary/pull:<any tag>. No registry has it, so a node that pulls it got it
// from Outpost: a pull that skips Outpost fails. `outpost doctor` pulls it through the node's
// own runtime configuration with a tag it announced, and Outpost records that pull for the node
// (nodes/node_book.hpp). The image is an index of one manifest per common Linux platform, each a
// config and one empty uncompressed layer; its bytes never change.
#include <optional>
#include <string>
#include <string_view>

#include "core/digest.hpp"

namespace outpost::nodes {

inline constexpr std::string_view kCanaryRepository = "outpost-canary/pull";

struct CanaryDocument {
  std::string media_type;
  std::string bytes;
  Digest digest;
};

// A tag names the index; a digest names the index or one of its manifests. nullopt: not the
// canary's.
std::optional<CanaryDocument> canary_manifest(std::string_view tag_or_digest);
// A blob of the canary (a config or the layer) by digest; nullopt: not the canary's.
std::optional<std::string> canary_blob(const Digest& digest);

}  // namespace outpost::nodes
