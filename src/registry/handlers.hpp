#pragma once
// The /v2/ endpoint: HTTP request in, OCI distribution response out. Pure apart from the Mirror.
#include "http/message.hpp"
#include "registry/mirror.hpp"

namespace outpost::nodes {
class NodeBook;
}

namespace outpost::registry {

// A tiered handler (http::TieredHandler): with Reach::local it answers from local state or returns
// nothing when only an upstream can answer. With `nodes`, a client's manifest fetch is recorded
// as its pull, and the canary (nodes/canary.hpp) is served under every upstream's name.
std::optional<http::Response> handle_v2(Mirror& mirror, const RegistryConfig& cfg,
                                        const http::Request& req,
                                        http::Reach reach = http::Reach::upstream,
                                        nodes::NodeBook* nodes = nullptr);

}  // namespace outpost::registry
