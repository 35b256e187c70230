#pragma once
// The metrics of git/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::git::metric {

inline constexpr MetricDef git_advertisements_total{
    "outpost_git_advertisements_total", MetricDef::counter,
    "Ref advertisements served, by protocol version"};
inline constexpr MetricDef git_gated_refs{
    "outpost_git_gated_refs", MetricDef::gauge,
    "Upstream refs held back until what their commit needs is local"};
inline constexpr MetricDef git_oldest_sync_seconds{
    "outpost_git_oldest_sync_seconds", MetricDef::gauge, "Age of the oldest mirror's last sync"};
inline constexpr MetricDef git_pack_cache_bytes{"outpost_git_pack_cache_bytes", MetricDef::gauge,
                                                "Bytes of responses kept in the pack cache"};
inline constexpr MetricDef git_pack_cache_entries{
    "outpost_git_pack_cache_entries", MetricDef::gauge, "Responses kept in the pack cache"};
inline constexpr MetricDef git_pack_cache_requests_total{
    "outpost_git_pack_cache_requests_total", MetricDef::counter,
    "Fetches that end a negotiation, by how their pack was served: hit (a kept response), "
    "joined (a run in progress), miss (a run)"};
inline constexpr MetricDef git_pack_cache_runs_saved_total{
    "outpost_git_pack_cache_runs_saved_total", MetricDef::counter,
    "upload-pack runs saved: fetches answered by a kept response or a run already in progress"};
inline constexpr MetricDef git_pack_cache_served_bytes_total{
    "outpost_git_pack_cache_served_bytes_total", MetricDef::counter,
    "Bytes of upload-pack responses served from the pack cache (kept responses, and shared "
    "runs to their joiners)"};
inline constexpr MetricDef git_processes_spawned_total{
    "outpost_git_processes_spawned_total", MetricDef::counter,
    "Git processes Outpost started, by subcommand"};
inline constexpr MetricDef git_refresh_waits_total{
    "outpost_git_refresh_waits_total", MetricDef::counter,
    "Requests that waited for a refresh of a due mirror, by host and result (synced, timeout:"
    " the budget ran out; skipped: an earlier request's wait ran out)"};
inline constexpr MetricDef git_sync_age_seconds{
    "outpost_git_sync_age_seconds", MetricDef::gauge,
    "Seconds since each mirror last synced successfully (-1: never)"};
inline constexpr MetricDef git_sync_lag_seconds{
    "outpost_git_sync_lag_seconds", MetricDef::gauge,
    "How far the oldest mirror is behind its schedule: its age less one sync interval"};
inline constexpr MetricDef git_syncs_total{"outpost_git_syncs_total", MetricDef::counter,
                                           "Git mirror syncs by host and result"};
inline constexpr MetricDef git_upload_pack_runs_total{
    "outpost_git_upload_pack_runs_total", MetricDef::counter,
    "git upload-pack runs started: request=fetch for fetches that end a negotiation (the pack"
    " cache's), other for the rest"};
inline constexpr MetricDef git_upstream_requests_total{
    "outpost_git_upstream_requests_total", MetricDef::counter,
    "Syncs' requests to git sources by host, role and kind (ref_check: one GET of the ref "
    "advertisement; fetch: a git fetch, a few requests; probe: a reachability check)"};
inline constexpr MetricDef git_upstream_up{"outpost_git_upstream_up", MetricDef::gauge,
                                           "1 when the git host is reachable"};

}  // namespace outpost::git::metric
