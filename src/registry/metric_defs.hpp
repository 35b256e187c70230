#pragma once
// The metrics of registry/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::registry::metric {

inline constexpr MetricDef registry_cache_total{
    "outpost_registry_cache_total", MetricDef::counter,
    "Registry lookups by kind and result (hit, miss, stale)"};
inline constexpr MetricDef registry_deleted_tags_served_total{
    "outpost_registry_deleted_tags_served_total", MetricDef::counter,
    "Pulls of cached tags that upstream no longer has (registry.keep_deleted_tags)"};
inline constexpr MetricDef registry_digest_mismatch_total{
    "outpost_registry_digest_mismatch_total", MetricDef::counter,
    "Upstream content that did not match its digest (never published)"};
inline constexpr MetricDef registry_fetch_resumes_total{
    "outpost_registry_fetch_resumes_total", MetricDef::counter,
    "Blob download attempts retried (resumed with Range from the bytes held) after a stall, "
    "refused or reset connection"};
inline constexpr MetricDef registry_fetches_in_flight{
    "outpost_registry_fetches_in_flight", MetricDef::gauge, "Blob downloads in progress"};
inline constexpr MetricDef registry_revalidations_total{
    "outpost_registry_revalidations_total", MetricDef::counter,
    "Tag revalidations upstream (HEAD) by mode and result"};
inline constexpr MetricDef registry_upstream_blob_fetches_total{
    "outpost_registry_upstream_blob_fetches_total", MetricDef::counter,
    "Blob downloads started upstream"};
inline constexpr MetricDef store_bytes{"outpost_store_bytes", MetricDef::gauge,
                                       "Bytes of published blobs in the store"};
inline constexpr MetricDef upstream_bytes_total{"outpost_upstream_bytes_total", MetricDef::counter,
                                                "Bytes downloaded from upstreams"};
inline constexpr MetricDef upstream_errors_total{"outpost_upstream_errors_total",
                                                 MetricDef::counter,
                                                 "Failed upstream calls by upstream and reason"};
inline constexpr MetricDef upstream_up{"outpost_upstream_up", MetricDef::gauge,
                                       "1 when the upstream is reachable (circuit closed)"};

}  // namespace outpost::registry::metric
