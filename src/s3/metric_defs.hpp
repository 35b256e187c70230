#pragma once
// The metrics of s3/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::s3::metric {

inline constexpr MetricDef requests_total{
    "outpost_s3_requests_total", MetricDef::counter,
    "S3 requests by operation (get, put, put_part, list, delete, …) and outcome (ok, "
    "not_found, retried, error)"};
inline constexpr MetricDef bytes_total{"outpost_s3_bytes_total", MetricDef::counter,
                                       "Object bytes sent to (up) and received from (down) S3"};
inline constexpr MetricDef request_seconds_total{
    "outpost_s3_request_seconds_total", MetricDef::counter,
    "Seconds spent in S3 requests by operation (divide by outpost_s3_requests_total for the "
    "mean latency)"};

}  // namespace outpost::s3::metric
