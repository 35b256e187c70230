#pragma once
// The /v2/ endpoint: HTTP request in, OCI distribution response out. Pure apart from the Mirror.
#include "http/message.hpp"
#include "registry/mirror.hpp"

namespace outpost::registry {

http::Response handle_v2(Mirror& mirror, const RegistryConfig& cfg, const http::Request& req);

}  // namespace outpost::registry
