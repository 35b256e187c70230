#pragma once
// The key of an upload-pack response in the pack cache (git/pack_cache.hpp): what determines the
// response, in a canonical form. A response depends on the repository's advertised state and on
// the request: wants, haves, shallow/deepen, filter and capabilities (gitprotocol-pack,
// gitprotocol-v2). Two requests that differ only in order, or in what a client says about itself
// (agent=, session-id=), get the same key; anything else makes another key.
#include <optional>
#include <string>
#include <string_view>

namespace outpost::git {

// The canonical text of a validated (validate_pkt_lines) upload-pack request for protocol
// `version` (0 or 2), or nullopt when no pack can follow it: a v0 request without "done" (a
// negotiation round), a v2 request that is not `command=fetch` (ls-refs). A v2 fetch is keyed
// with or without "done": the server sends the pack as soon as it is ready.
std::optional<std::string> canonical_fetch_request(std::string_view body, int version);

}  // namespace outpost::git
