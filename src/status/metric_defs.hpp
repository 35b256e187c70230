#pragma once
// The metrics of status/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::status::metric {

inline constexpr MetricDef cluster_owned_share{
    "outpost_cluster_owned_share", MetricDef::gauge,
    "Share of this replica's blobs that it owns among the current members"};
inline constexpr MetricDef cluster_peer_bytes_received_total{
    "outpost_cluster_peer_bytes_received_total", MetricDef::counter,
    "Content bytes this replica received from each peer"};
inline constexpr MetricDef cluster_peer_up{
    "outpost_cluster_peer_up", MetricDef::gauge,
    "1 when a peer replica of this site cluster is up (circuit closed)"};
inline constexpr MetricDef cluster_served_bytes_total{"outpost_cluster_served_bytes_total",
                                                      MetricDef::counter,
                                                      "Content bytes this replica served to peers"};
inline constexpr MetricDef offline_ready{
    "outpost_offline_ready", MetricDef::gauge,
    "1 when the site could lose its link now (see /api/v1/readiness)"};
inline constexpr MetricDef readiness_reasons{
    "outpost_readiness_reasons", MetricDef::gauge,
    "How many things keep the site from being offline-ready"};
inline constexpr MetricDef release_missing_blobs{
    "outpost_release_missing_blobs", MetricDef::gauge,
    "Blobs a recorded release pins that are not in the store"};
inline constexpr MetricDef releases{"outpost_releases", MetricDef::gauge,
                                    "Releases by state (ready, downloading, …)"};
inline constexpr MetricDef upstream_ratelimit_limit{
    "outpost_upstream_ratelimit_limit", MetricDef::gauge,
    "Pulls allowed per window, as the source's last answer stated it"};
inline constexpr MetricDef upstream_ratelimit_remaining{
    "outpost_upstream_ratelimit_remaining", MetricDef::gauge,
    "Pulls left in the window, as the source's last answer stated it"};
inline constexpr MetricDef upstream_source_bytes_total{
    "outpost_upstream_source_bytes_total", MetricDef::counter,
    "Content bytes received from each source of an upstream (mirrors, then the origin)"};
inline constexpr MetricDef upstream_source_up{
    "outpost_upstream_source_up", MetricDef::gauge,
    "1 when this source of an upstream (a mirror, or the origin) is up (circuit closed)"};

}  // namespace outpost::status::metric
