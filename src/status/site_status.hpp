#pragma once
// One picture of the site for the status page, `outpost status` and readiness: upstreams (up or
// down since when, last error), Git mirrors, Helm repositories, releases, the store against its
// watermarks, and recent warnings. `readiness` answers "could this site lose its link right now?"
// from that picture alone (a pure function, so the page, the CLI and the API cannot disagree).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/metrics.hpp"

namespace outpost {
class BlobStore;
class MetaDb;
namespace registry {
class Mirror;
}
namespace git {
class GitCache;
class PackCache;
}  // namespace git
namespace nodes {
class NodeBook;
}
namespace tier {
class ObjectTier;
}
namespace helm {
class HelmCache;
}
namespace bundle {
class ReleaseJobs;
class ReleaseFanout;
}  // namespace bundle
namespace cluster {
class Cluster;
}
namespace sources {
class OciSources;
}
}  // namespace outpost

namespace outpost::status {

struct Sources {
  const Config& cfg;
  registry::Mirror& mirror;
  git::GitCache& git;
  helm::HelmCache& helm;
  bundle::ReleaseJobs& releases;
  BlobStore& store;
  MetaDb& db;
  cluster::Cluster* cluster = nullptr;      // a site cluster, when configured
  bundle::ReleaseFanout* fanout = nullptr;  // its releases across the replicas
  git::PackCache* packs = nullptr;          // the Git pack cache
  nodes::NodeBook* nodes = nullptr;         // the nodes that pull through Outpost
  tier::ObjectTier* objects = nullptr;      // the object store behind the local store (storage.s3)
  sources::OciSources* oci = nullptr;       // the followed OCI sources (sources.oci)
};

// {generated_at, version, readiness, upstreams[], git[], helm[], releases[], store{}, errors[],
//  deleted_tags[{upstream, repo, tag, digest, noticed_at}] (served though upstream deleted them),
//  cluster{self, owned_share, served_bytes, peers[{url, up, member, since, last_error,
//  bytes_received, releases[{name, version, state}]}]} (with a cluster),
//  git_pack_cache{entries, bytes, hits, joined, misses, runs_saved, served_bytes},
//  nodes{registered, flagged, clients, stale_after_seconds, list[node as /api/v1/nodes shows it]}
//  metadata{backend: sqlite|postgres, summary; postgres: where, up, down_since, last_error,
//  unshared_writes}
//  (registered nodes and at most 50 other client addresses),
//  oci_sources[as /api/v1/sources lists them] (sources.oci),
//  object_store{endpoint, bucket, prefix, up, since, last_error, waiting, summary} (storage.s3)}
nlohmann::json site_status(Sources& s);

// {ready, state: "offline-ready" | "not-ready", reasons[]}, computed from a site_status document
// (its "readiness" member is ignored). Offline-ready: every Git mirror holds a synced copy with no
// commit waiting at a gate and no failing sync against a reachable upstream, every Helm repository
// has a copy, and every release asked for is complete in the store — in a cluster, on every live
// replica.
nlohmann::json readiness(const nlohmann::json& status);

// Gauges set from the same picture at each scrape: outpost_offline_ready (1/0),
// outpost_readiness_reasons, outpost_releases{state}, outpost_release_missing_blobs{release},
// and per source of each upstream outpost_upstream_source_up and
// outpost_upstream_source_bytes_total{kind, upstream, source, role}.
// REQUIRES: `s` outlives `metrics`' collectors.
void register_metrics(Metrics& metrics, Sources& s);

}  // namespace outpost::status
