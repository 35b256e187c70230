#pragma once
// The metrics of helm/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::helm::metric {

inline constexpr MetricDef helm_index_age_seconds{
    "outpost_helm_index_age_seconds", MetricDef::gauge,
    "Seconds since each chart repository index was last fetched upstream"};
inline constexpr MetricDef helm_requests_total{"outpost_helm_requests_total", MetricDef::counter,
                                               "Helm index and chart requests by kind and result"};
inline constexpr MetricDef helm_upstream_up{
    "outpost_helm_upstream_up", MetricDef::gauge,
    "1 when the chart repository host answers, 0 while it is down"};

}  // namespace outpost::helm::metric
