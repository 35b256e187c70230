#include "status/site_status.hpp"
#include "nodes/handlers.hpp"
#include "nodes/node_book.hpp"
#include "status/metric_defs.hpp"
#include "tier/object_tier.hpp"

#include <sys/statvfs.h>

#include <fmt/format.h>

#include <set>

#include "bundle/fanout.hpp"
#include "bundle/jobs.hpp"
#include "cluster/cluster.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "git/cache.hpp"
#include "git/pack_cache.hpp"
#include "helm/cache.hpp"
#include "registry/mirror.hpp"
#include "sources/oci_sources.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::status {
namespace {

using nlohmann::json;

json upstreams(Sources& s) {
  json out = json::array();
  std::vector<upstream::UpstreamHealth> all = s.mirror.health();
  for (auto& h : s.git.health()) all.push_back(std::move(h));
  for (auto& h : s.helm.health()) all.push_back(std::move(h));
  for (const auto& h : all) {
    json sources = json::array();
    for (const auto& src : h.sources) {
      json one = {{"url", src.url},
                  {"role", src.role},
                  {"contacted", src.contacted},
                  {"up", src.state.up},
                  {"since", src.contacted ? json(iso8601(src.state.since)) : json(nullptr)},
                  {"last_error", src.state.last_error},
                  {"bytes", src.bytes}};
      if (src.rate_limit)
        one["rate_limit"] = {{"limit", src.rate_limit->limit},
                             {"remaining", src.rate_limit->remaining},
                             {"window_seconds", src.rate_limit->window_seconds},
                             {"source", src.rate_limit->source},
                             {"seen", iso8601(src.rate_limit->seen)}};
      sources.push_back(std::move(one));
    }
    out.push_back({{"kind", h.kind},
                   {"name", h.name},
                   {"url", h.url},
                   {"contacted", h.contacted},
                   {"up", h.state.up},
                   {"since", h.contacted ? json(iso8601(h.state.since)) : json(nullptr)},
                   {"last_error", h.state.last_error},
                   {"failures", h.state.failures},
                   {"sources", std::move(sources)}});
  }
  return out;
}

json store_usage(Sources& s) {
  json st = {{"bytes", s.store.total_bytes()},
             {"gc_high_watermark", s.cfg.storage.gc_high_watermark},
             {"gc_low_watermark", s.cfg.storage.gc_low_watermark}};
  if (auto p = s.db.pinned_usage()) {
    st["pinned_bytes"] = p->bytes;
    st["pinned_blobs"] = p->blobs;
    st["evictable_bytes"] = s.store.total_bytes() > p->bytes ? s.store.total_bytes() - p->bytes : 0;
  }
  struct statvfs fs {};
  if (::statvfs(s.cfg.data_dir.c_str(), &fs) == 0 && fs.f_blocks > 0) {
    auto total = std::uint64_t(fs.f_blocks) * fs.f_frsize;
    auto avail = std::uint64_t(fs.f_bavail) * fs.f_frsize;
    auto free_all = std::uint64_t(fs.f_bfree) * fs.f_frsize;
    st["fs_bytes"] = total;
    st["fs_available_bytes"] = avail;
    st["fs_used_fraction"] = total ? double(total - free_all) / double(total) : 0.0;
  }
  return st;
}

// The replicas of a site cluster: each peer's health and the releases it reported last; the share
// of this replica's blobs it owns (rendezvous over the current members).
json cluster_status(Sources& s) {
  auto peer_releases =
      s.fanout ? s.fanout->peer_releases()
               : std::map<std::string, std::vector<bundle::ReleaseFanout::PeerRelease>>{};
  json peers = json::array();
  for (const auto& h : s.cluster->health()) {
    json rel = json::array();
    if (auto it = peer_releases.find(h.source.url); it != peer_releases.end())
      for (const auto& r : it->second)
        rel.push_back({{"name", r.name}, {"version", r.version}, {"state", r.state}});
    peers.push_back({{"url", h.source.url},
                     {"member", h.member},
                     {"up", h.source.state.up},
                     {"contacted", h.source.contacted},
                     {"since", iso8601(h.source.state.since)},
                     {"last_error", h.source.state.last_error},
                     {"bytes_received", h.source.bytes},
                     {"releases", std::move(rel)}});
  }
  std::size_t blobs = 0, owned = 0;
  if (auto rows = s.db.blobs())
    for (const auto& b : *rows) {
      ++blobs;
      if (s.cluster->owns(b.digest.str())) ++owned;
    }
  return {{"self", s.cluster->self()},
          {"owned_share", blobs ? double(owned) / double(blobs) : 0.0},
          {"blobs", blobs},
          {"served_bytes", s.cluster->served_bytes()},
          {"peers", std::move(peers)}};
}

// The bucket behind the local store: up or down, and the write-back queue.
json object_store_status(tier::ObjectTier& t) {
  const auto& c = t.client().config();
  const auto st = t.source().breaker().state();
  const auto waiting = t.waiting();
  return {{"endpoint", c.endpoint},
          {"bucket", c.bucket},
          {"prefix", c.prefix},
          {"up", st.up},
          {"since", iso8601(st.since)},
          {"last_error", st.last_error},
          {"waiting", waiting},
          {"summary", st.up ? fmt::format("object store up, {} blobs waiting", waiting)
                            : fmt::format("object store down, {} blobs waiting", waiting)}};
}

// The metadata backend: SQLite alone, or PostgreSQL shared by hub replicas with this replica's
// SQLite file as its local read copy.
json metadata_status(const MetaDb& db) {
  auto sh = db.sharing();
  if (!sh) return {{"backend", "sqlite"}, {"summary", "metadata in SQLite (meta.db)"}};
  std::string summary =
      sh->up ? "metadata database up"
             : fmt::format(
                   "metadata database down: known tags served from the local read copy; "
                   "{} new resolutions served but not shared",
                   sh->unshared_writes);
  return {{"backend", "postgres"},
          {"where", sh->where},
          {"up", sh->up},
          {"down_since", sh->down_since ? json(iso8601(std::chrono::system_clock::time_point(
                                              std::chrono::seconds(*sh->down_since))))
                                        : json(nullptr)},
          {"last_error", sh->last_error},
          {"unshared_writes", sh->unshared_writes},
          {"summary", summary}};
}

}  // namespace

namespace {

// Registered nodes (each flag with its reason) and the most recent other client addresses.
json nodes_status(const nodes::NodeBook& book, const NodesConfig& cfg) {
  json list = json::array();
  int registered = 0, flagged = 0, clients = 0;
  for (const auto& v : book.list()) {
    registered += v.registered;
    flagged += v.flagged;
    if (!v.registered && ++clients > 50) continue;
    list.push_back(nodes::node_json(v));
  }
  return {{"registered", registered},
          {"flagged", flagged},
          {"clients", clients},
          {"stale_after_seconds",
           std::chrono::duration_cast<std::chrono::seconds>(cfg.stale_after).count()},
          {"list", list}};
}

}  // namespace

json site_status(Sources& s) {
  json doc;
  doc["generated_at"] = iso8601(std::chrono::system_clock::now());
  doc["version"] = OUTPOST_VERSION;
  doc["upstreams"] = upstreams(s);
  auto git = json::parse(s.git.status_json(), nullptr, false);
  doc["git"] = git.is_object() && git.contains("repos") ? git["repos"] : json::array();
  if (git.is_object())
    doc["git_sync"] = {{"oldest_sync_seconds", git.value("oldest_sync_seconds", 0.0)},
                       {"sync_lag_seconds", git.value("sync_lag_seconds", 0.0)},
                       {"never_synced", git.value("never_synced", 0)}};
  json helm = json::array();
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  for (const auto& r : s.helm.status())
    helm.push_back(
        {{"repo", r.repo},
         {"last_success", r.last_success ? json(iso8601(std::chrono::system_clock::time_point(
                                               std::chrono::seconds(*r.last_success))))
                                         : json(nullptr)},
         {"stale_seconds", r.last_success ? json(now - *r.last_success) : json(nullptr)},
         {"last_error", r.last_error},
         {"charts", r.charts},
         {"upstream_up", r.upstream_up}});
  doc["helm"] = helm;
  json rel = json::array();
  for (const auto& r : s.releases.list()) rel.push_back(json::parse(r.to_json()));
  doc["releases"] = rel;
  if (s.oci) doc["oci_sources"] = s.oci->status()["oci"];
  json deleted = json::array();
  if (auto rows = s.db.deleted_tags())
    for (const auto& t : *rows)
      deleted.push_back({{"upstream", t.upstream},
                         {"repo", t.repo},
                         {"tag", t.tag},
                         {"digest", t.digest.str()},
                         {"noticed_at", iso8601(std::chrono::system_clock::time_point(
                                            std::chrono::seconds(t.noticed_at)))}});
  doc["deleted_tags"] = deleted;
  if (s.packs) {
    auto p = s.packs->stats();
    doc["git_pack_cache"] = {{"entries", p.entries},
                             {"bytes", p.bytes},
                             {"hits", p.hits},
                             {"joined", p.joined},
                             {"misses", p.misses},
                             {"runs_saved", p.hits + p.joined},
                             {"served_bytes", p.served_bytes}};
  }
  if (s.nodes) doc["nodes"] = nodes_status(*s.nodes, s.cfg.nodes);
  if (s.objects) doc["object_store"] = object_store_status(*s.objects);
  doc["metadata"] = metadata_status(s.db);
  doc["store"] = store_usage(s);
  doc["errors"] = recent_problems(20);
  if (s.cluster && s.cluster->enabled()) doc["cluster"] = cluster_status(s);
  doc["readiness"] = readiness(doc);
  return doc;
}

namespace {

// outpost_cluster_peer_up{peer}, outpost_cluster_peer_bytes_received_total{peer},
// outpost_cluster_served_bytes_total, outpost_cluster_owned_share.
void cluster_metrics(Metrics& metrics, const json& c) {
  auto& up = metrics.gauge(metric::cluster_peer_up);
  auto& got = metrics.counter(metric::cluster_peer_bytes_received_total);
  for (const auto& p : c.value("peers", json::array())) {
    if (!p.value("member", false)) continue;
    up.set({{"peer", p.value("url", "")}}, p.value("up", false) ? 1 : 0);
    got.set({{"peer", p.value("url", "")}}, p.value("bytes_received", 0.0));
  }
  metrics.counter(metric::cluster_served_bytes_total).set({}, c.value("served_bytes", 0.0));
  metrics.gauge(metric::cluster_owned_share).set({}, c.value("owned_share", 0.0));
}

}  // namespace

void register_metrics(Metrics& metrics, Sources& s) {
  auto& ready = metrics.gauge(metric::offline_ready);
  auto& reasons = metrics.gauge(metric::readiness_reasons);
  auto& releases = metrics.gauge(metric::releases);
  auto& missing = metrics.gauge(metric::release_missing_blobs);
  auto& source_up = metrics.gauge(metric::upstream_source_up);
  auto& source_bytes = metrics.counter(metric::upstream_source_bytes_total);
  metrics.add_collector(
      [&metrics, &s, &ready, &reasons, &releases, &missing, &source_up, &source_bytes] {
        auto st = site_status(s);
        if (st.contains("cluster")) cluster_metrics(metrics, st["cluster"]);
        for (const auto& u : st["upstreams"])
          for (const auto& src : u.value("sources", json::array())) {
            Labels l{{"kind", u.value("kind", "")},
                     {"upstream", u.value("name", "")},
                     {"source", src.value("url", "")},
                     {"role", src.value("role", "")}};
            source_up.set(l, src.value("up", false) ? 1 : 0);
            source_bytes.set(l, src.value("bytes", 0.0));
            if (src.contains("rate_limit")) {
              metrics.gauge(metric::upstream_ratelimit_limit)
                  .set(l, src["rate_limit"].value("limit", 0.0));
              metrics.gauge(metric::upstream_ratelimit_remaining)
                  .set(l, src["rate_limit"].value("remaining", 0.0));
            }
          }
        const auto& r = st["readiness"];
        ready.set({}, r.value("ready", false) ? 1 : 0);
        reasons.set({}, double(r["reasons"].size()));
        std::map<std::string, double> by_state;
        for (auto s : {bundle::ReleaseState::ready, bundle::ReleaseState::queued,
                       bundle::ReleaseState::downloading, bundle::ReleaseState::importing,
                       bundle::ReleaseState::failed, bundle::ReleaseState::incomplete})
          by_state[std::string(bundle::state_name(s))] = 0;
        for (const auto& x : st["releases"]) {
          by_state[x.value("state", "unknown")] += 1;
          missing.set({{"release", x.value("name", "") + " " + x.value("version", "")}},
                      x.value("blobs_missing", 0.0));
        }
        for (const auto& [state, n] : by_state) releases.set({{"state", state}}, n);
      });
}

json readiness(const json& st) {
  json reasons = json::array();
  std::map<std::string, bool> host_up;
  for (const auto& u : st.value("upstreams", json::array()))
    if (u.value("kind", "") == "git") host_up[u.value("name", "")] = u.value("up", true);
  for (const auto& g : st.value("git", json::array())) {
    std::string repo = g.value("repo", "?");
    if (!g.value("cloned", false) || g["last_sync"].is_null()) {
      reasons.push_back(fmt::format("git {}: no synced copy yet", repo));
      continue;
    }
    for (const auto& p : g.value("pending", json::array()))
      reasons.push_back(fmt::format("git {}: {} {} waits for {}", repo, p.value("ref", ""),
                                    p.value("commit", "").substr(0, 12),
                                    p.value("waiting_for", "")));
    auto host = repo.substr(0, repo.find('/'));
    auto err = g.value("last_error", "");
    if (!err.empty() && host_up[host])
      reasons.push_back(fmt::format("git {}: last sync failed: {}", repo, err));
  }
  for (const auto& h : st.value("helm", json::array()))
    if (h["last_success"].is_null() && h.value("charts", 0) == 0)
      reasons.push_back(fmt::format("helm {}: no copy of the index yet", h.value("repo", "?")));
  // A followed OCI source is offline-ready once listed and something is advertised.
  for (const auto& o : st.value("oci_sources", json::array()))
    if (o.value("listed_at", "").empty())
      reasons.push_back(
          fmt::format("oci source {}: never listed upstream yet", o.value("repository", "?")));
  for (const auto& r : st.value("releases", json::array())) {
    using bundle::ReleaseState;
    auto state = bundle::parse_release_state(r.value("state", "")).value_or(ReleaseState::unknown);
    if (state == ReleaseState::ready) continue;
    auto what = fmt::format("release {} {}", r.value("name", "?"), r.value("version", "?"));
    if (state == ReleaseState::failed)
      reasons.push_back(fmt::format("{}: failed: {}", what, r.value("error", "")));
    else if (state == ReleaseState::incomplete)
      reasons.push_back(
          fmt::format("{}: {} blobs missing", what, r.value("blobs_missing", std::size_t{0})));
    else {
      auto done = r.value("bytes_done", 0.0), total = r.value("bytes_total", 0.0);
      auto name = bundle::state_name(state);
      reasons.push_back(total > 0 ? fmt::format("{}: {} ({:.0f}%)", what, name, 100 * done / total)
                                  : fmt::format("{}: {}", what, name));
    }
  }
  // In a cluster: a release ready here must be ready on every live replica.
  if (st.contains("cluster"))
    for (const auto& p : st["cluster"].value("peers", json::array())) {
      if (!p.value("member", false) || !p.value("up", false)) continue;
      std::set<std::pair<std::string, std::string>> ready_there;
      for (const auto& x : p.value("releases", json::array()))
        if (x.value("state", "") == "ready")
          ready_there.insert({x.value("name", ""), x.value("version", "")});
      for (const auto& r : st.value("releases", json::array()))
        if (r.value("state", "") == "ready" &&
            !ready_there.contains({r.value("name", ""), r.value("version", "")}))
          reasons.push_back(fmt::format("release {} {}: not ready on replica {}",
                                        r.value("name", "?"), r.value("version", "?"),
                                        p.value("url", "?")));
    }
  bool ready = reasons.empty();
  return {{"ready", ready}, {"state", ready ? "offline-ready" : "not-ready"}, {"reasons", reasons}};
}

}  // namespace outpost::status
