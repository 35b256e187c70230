#pragma once
// The metrics of cli/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::cli::metric {

inline constexpr MetricDef process_max_fds{"process_max_fds", MetricDef::gauge,
                                           "Maximum number of open file descriptors"};
inline constexpr MetricDef process_open_fds{"process_open_fds", MetricDef::gauge,
                                            "Number of open file descriptors"};

}  // namespace outpost::cli::metric
