#pragma once
// The /v2/ endpoint: HTTP request in, OCI distribution response out. Pure apart from the Mirror.
#include "http/message.hpp"
#include "registry/mirror.hpp"

namespace outpost::registry {

// A tiered handler (http::TieredHandler): with Reach::local it answers from local state or returns
// nothing when only an upstream can answer.
std::optional<http::Response> handle_v2(Mirror& mirror, const RegistryConfig& cfg,
                                        const http::Request& req,
                                        http::Reach reach = http::Reach::upstream);

}  // namespace outpost::registry
