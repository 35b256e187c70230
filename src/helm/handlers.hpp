#pragma once
// HTTP front of the Helm cache: GET/HEAD /helm/<host>[/<path>]/index.yaml and
// …/charts/<name>-<version>.tgz. Pure function of the request (the cache does the I/O).
#include "core/config.hpp"
#include "helm/cache.hpp"
#include "http/message.hpp"

namespace outpost::helm {

http::Response handle_helm(HelmCache& cache, const HelmConfig& cfg, const http::Request& req);

}  // namespace outpost::helm
