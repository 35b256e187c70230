#pragma once
// The metrics of pg/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::pg::metric {

inline constexpr MetricDef queries_total{
    "outpost_postgres_queries_total", MetricDef::counter,
    "PostgreSQL statements by outcome (ok, error, unavailable: no connection)"};
inline constexpr MetricDef query_seconds_total{
    "outpost_postgres_query_seconds_total", MetricDef::counter,
    "Seconds spent in PostgreSQL statements, waiting for a connection included"};
inline constexpr MetricDef pool_connections{
    "outpost_postgres_pool_connections", MetricDef::gauge,
    "Connections of the PostgreSQL pool by state (in_use, idle); pool_size is the most"};
inline constexpr MetricDef pool_waits_total{
    "outpost_postgres_pool_waits_total", MetricDef::counter,
    "Times a statement waited for a connection because all pool_size were in use"};
inline constexpr MetricDef up{"outpost_postgres_up", MetricDef::gauge,
                              "1 when the last PostgreSQL call succeeded, 0 after a failure"};

}  // namespace outpost::pg::metric
