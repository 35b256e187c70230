#pragma once
// HTTP front of the Helm cache: GET/HEAD /helm/<host>[/<path>]/index.yaml and
// …/charts/<name>-<version>.tgz. Pure function of the request (the cache does the I/O).
#include "helm/cache.hpp"
#include "helm/config.hpp"
#include "http/message.hpp"

namespace outpost::helm {

// A tiered handler (http::TieredHandler): with Reach::local, nothing when only the upstream can
// answer.
std::optional<http::Response> handle_helm(HelmCache& cache, const HelmConfig& cfg,
                                          const http::Request& req,
                                          http::Reach reach = http::Reach::upstream);

}  // namespace outpost::helm
