#pragma once
// How large each registry document may be when it is buffered from a source: bounds that fit the
// document, so an answer that breaks one is that request's error (Errc::too_large, naming the
// bound), never a reason to mark an upstream down. Pure: no I/O.
#include <cstddef>
#include <string_view>

namespace outpost::registry {

// The OCI distribution spec lets registries refuse manifests over 4 MiB; referrers indexes are
// manifests too.
inline constexpr std::size_t kMaxManifestBytes = 4u << 20;
// A tag list: 32 MiB holds about 600,000 tags of 40 characters (CI-tagged repositories reach
// tens of thousands).
inline constexpr std::size_t kMaxTagListBytes = 32u << 20;
// A token service's answer (a JWT with its claims, and its expiry).
inline constexpr std::size_t kMaxTokenAnswerBytes = 1u << 20;

struct DocumentBound {
  std::size_t bytes;
  const char* name;  // "manifest", as a message names it
};

// The bound of the document a /v2/ path names (its query ignored): manifests and referrers
// indexes, tag lists, else a generic answer of 1 MiB.
DocumentBound document_bound(std::string_view path);

}  // namespace outpost::registry
