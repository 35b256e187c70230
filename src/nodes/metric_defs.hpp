#pragma once
// The metrics of nodes/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::nodes::metric {

inline constexpr MetricDef node_last_pull_timestamp_seconds{
    "outpost_node_last_pull_timestamp_seconds", MetricDef::gauge,
    "When each node (registered name, or client address) last pulled a manifest through Outpost; "
    "alert on time() minus it"};
inline constexpr MetricDef node_last_canary_timestamp_seconds{
    "outpost_node_last_canary_timestamp_seconds", MetricDef::gauge,
    "When each registered node's doctor last pulled the canary through Outpost"};
inline constexpr MetricDef nodes_flagged{
    "outpost_nodes_flagged", MetricDef::gauge,
    "Registered nodes flagged: a doctor found an upstream bypassing Outpost, or no pull or canary "
    "for nodes.stale_after"};

}  // namespace outpost::nodes::metric
