#pragma once
// The nodes' gauges, set from the NodeBook before each /metrics render.
#include "core/metrics.hpp"
#include "nodes/node_book.hpp"

namespace outpost::nodes {

void register_metrics(Metrics& metrics, const NodeBook& book);

}  // namespace outpost::nodes
