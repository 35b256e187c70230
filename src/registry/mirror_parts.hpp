#pragma once
// What the parts of registry::Mirror share (mirror.cpp: the façade, manifests by digest, blobs;
// mirror_tags.cpp: tag resolution and tag lists; mirror_cluster.cpp: copies to and from the site
// cluster's peers). Internal to registry/.
#include <fmt/format.h>

#include "cluster/cluster.hpp"
#include "core/error.hpp"
#include "registry/mirror.hpp"
#include "registry/route.hpp"
#include "registry/upstream.hpp"

namespace outpost::registry {

inline std::string down_message(const Upstream& up) {
  return fmt::format("upstream {} is unreachable ({})", up.name(), up.down_reason());
}

inline std::unexpected<Error> needs_upstream() {
  return fail(Errc::needs_upstream, "only the upstream can answer this");
}

// The row a tag is kept under: the tag itself for a client that accepts every manifest type;
// `<tag>#<types>` for one that accepts only some ('#' is never in a tag, so the row never lists
// as a tag), so tags resolved for different Accept sets never overwrite each other's digests.
inline std::string tag_row(const Route& r) {
  return r.accept.all() ? r.tag : r.tag + "#" + r.accept.key();
}

// One page of a sorted, duplicate-free tag list: lexical order, strictly after `last`, at most n
// (more: another page follows).
TagPage tag_page(const std::vector<std::string>& sorted, std::optional<std::size_t> n,
                 const std::string& last);

// A client's request asks the owners first; a peer's only what the other peers hold.
inline cluster::Asking asking_for(const Route& route) {
  return route.from_peer ? cluster::Asking::holders_only : cluster::Asking::owners_first;
}

}  // namespace outpost::registry
