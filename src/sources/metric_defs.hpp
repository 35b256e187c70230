#pragma once
// The metrics of sources/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::sources::metric {

inline constexpr MetricDef checks_total{
    "outpost_oci_source_checks_total", MetricDef::counter,
    "Background checks of followed OCI sources (tags listed, followed tags revalidated), by "
    "source and result (ok, unreachable)"};
inline constexpr MetricDef upstream_heads_total{
    "outpost_oci_source_upstream_requests_total", MetricDef::counter,
    "Requests the checks of followed OCI sources sent upstream, by source and kind (tag: one HEAD "
    "per followed tag or new version, list: one tag listing)"};
inline constexpr MetricDef held{
    "outpost_oci_source_held", MetricDef::gauge,
    "Versions and tags of a followed OCI source held back because what they need is not local"};
inline constexpr MetricDef last_check{
    "outpost_oci_source_last_check_timestamp_seconds", MetricDef::gauge,
    "When a followed OCI source was last checked upstream (Unix seconds)"};
inline constexpr MetricDef reachable{
    "outpost_oci_source_upstream_reachable", MetricDef::gauge,
    "1 when the last check of a followed OCI source reached its registry"};
inline constexpr MetricDef notifications_total{
    "outpost_oci_source_notifications_total", MetricDef::counter,
    "Notifications of followed OCI sources' changes, by source, kind (argocd, flux) and result "
    "(sent, retried, failed: given up after every retry)"};
}  // namespace outpost::sources::metric
