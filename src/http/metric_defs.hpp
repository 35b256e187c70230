#pragma once
// The metrics of http/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::http::metric {

inline constexpr MetricDef http_accept_paused_total{
    "outpost_http_accept_paused_total", MetricDef::counter,
    "Accepts paused because the process was out of descriptors"};
inline constexpr MetricDef http_client_gone_total{
    "outpost_http_client_gone_total", MetricDef::counter,
    "Responses the client closed or reset the connection during"};
inline constexpr MetricDef http_requests_in_flight{"outpost_http_requests_in_flight",
                                                   MetricDef::gauge, "Requests being handled"};
inline constexpr MetricDef http_requests_total{"outpost_http_requests_total", MetricDef::counter,
                                               "HTTP requests by route group, method and status"};
inline constexpr MetricDef http_response_bytes_total{"outpost_http_response_bytes_total",
                                                     MetricDef::counter,
                                                     "Response body bytes sent, by route group"};
inline constexpr MetricDef http_responses_aborted_total{
    "outpost_http_responses_aborted_total", MetricDef::counter,
    "Responses cut off mid-body by this side (timeout, producer failed)"};

}  // namespace outpost::http::metric
