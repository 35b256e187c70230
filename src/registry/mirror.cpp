#include "registry/mirror.hpp"

#include "registry/metric_defs.hpp"
#include "tier/object_tier.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <set>

#include "cluster/cluster.hpp"
#include "core/time.hpp"
#include "registry/manifest.hpp"
#include "registry/mirror_parts.hpp"
#include "registry/reference.hpp"

namespace outpost::registry {
Mirror::Mirror(const RegistryConfig& cfg, BlobStore& store, MetaDb& db, http::HttpClient& client,
               Metrics& metrics, const Clock& clock, cluster::Cluster* cluster)
    : cfg_(cfg),
      clock_(clock),
      cluster_(cluster),
      store_(store),
      db_(db),
      metrics_(metrics),
      cache_(metrics.counter(metric::registry_cache_total)),
      fetcher_(
          store, db, metrics, [this](std::function<void()> task) { pool_.post(std::move(task)); },
          cfg.stall_timeout, stopping_),
      pool_(16) {
  for (const auto& u : cfg.upstreams)
    upstreams_.emplace(
        u.name, std::make_unique<Upstream>(u, cfg, client, metrics, stopping_, clock, cluster));
  if (cluster && cluster->enabled()) {  // releases the peers hold (docs/cluster.md)
    releases_cfg_.name = std::string(kReleasesNamespace);
    upstreams_.emplace(
        releases_cfg_.name,
        std::make_unique<Upstream>(releases_cfg_, cfg, client, metrics, stopping_, clock, cluster));
  }
  fetcher_.on_fetched(
      [this](Upstream& up, const std::string& repo, const Digest& d, bool from_sources) {
        if (from_sources) copy_to_peer(Kind::blob, up.name(), repo, d.str(), d.str(), "1");
      });
  metrics.add_collector([this] {
    auto& up = metrics_.gauge(metric::upstream_up);
    for (const auto& u : cfg_.upstreams)
      up.set({{"upstream", u.name}}, upstreams_.at(u.name)->down() ? 0 : 1);
    metrics_.gauge(metric::store_bytes).set({}, static_cast<double>(store_.total_bytes()));
  });
  prober_ = std::jthread([this](std::stop_token st) { probe_loop(st); });
}

Mirror::~Mirror() {
  stop();
}

void Mirror::stop() {
  stopping_ = true;
  prober_.request_stop();
}

void Mirror::probe_loop(std::stop_token st) {
  while (!st.stop_requested()) {
    for (auto& [name, u] : upstreams_) {
      if (st.stop_requested()) return;
      u->probe_due();
    }
    sleep_unless_stopped(st, std::chrono::milliseconds(200));
  }
}

void Mirror::touch(const Digest& d) {
  auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(touch_mu_);
    auto& last = touched_[d];
    if (last.time_since_epoch().count() != 0 && now - last < std::chrono::minutes(10)) return;
    last = now;
  }
  (void)db_.touch_blob(d);
}

std::vector<upstream::UpstreamHealth> Mirror::health() {
  std::vector<upstream::UpstreamHealth> out;
  for (const auto& u : cfg_.upstreams)
    out.push_back(upstream::upstream_health("registry", u.name, upstreams_.at(u.name)->sources()));
  return out;
}

Upstream& Mirror::upstream(const std::string& name) {
  return *upstreams_.at(name);
}

Result<ManifestResult> Mirror::cached_manifest(const Digest& d, CacheResult how) {
  auto rec = db_.manifest(d);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return fail(Errc::not_found, "manifest " + d.str() + " not cached");
  auto bytes = store_.read_all(d, kMaxManifestBytes);
  if (!bytes && bytes.error().code == Errc::not_found && tier_) {
    // Known (the record is shared) but not on this replica's disk: the bucket has it.
    if (auto r = tier_->restore(d, kMaxManifestBytes); r)
      bytes = store_.read_all(d, kMaxManifestBytes);
  }
  if (!bytes) return std::unexpected(bytes.error());
  cache_.add({{"kind", "manifest"},
              {"result", how == CacheResult::hit     ? "hit"
                         : how == CacheResult::stale ? "stale"
                                                     : "miss"}});
  return ManifestResult{d, (*rec)->media_type, std::move(*bytes), how};
}

Result<ManifestResult> Mirror::fetch_manifest(Upstream& up, const Route& route,
                                              const std::string& ref) {
  // Single-flight per upstream, repository and reference: a burst of sites or nodes asking a
  // cold tag at once makes one upstream request.
  const std::string key = up.name() + "/" + route.repo + ":" + ref + "#" + route.accept.key();
  std::shared_ptr<std::promise<Result<ManifestResult>>> mine;
  std::shared_future<Result<ManifestResult>> running;
  {
    MutexLock lock(manifest_mu_);
    if (auto it = manifest_fetches_.find(key); it != manifest_fetches_.end()) {
      running = it->second;
    } else {
      mine = std::make_shared<std::promise<Result<ManifestResult>>>();
      manifest_fetches_.emplace(key, mine->get_future().share());
    }
  }
  if (!mine) return running.get();
  auto r = fetch_manifest_once(up, route, ref);
  mine->set_value(r);
  MutexLock lock(manifest_mu_);
  manifest_fetches_.erase(key);
  return r;
}

Result<ManifestResult> Mirror::fetch_manifest_once(Upstream& up, const Route& route,
                                                   const std::string& ref, bool from_peers) {
  // A mirror's manifest is checked before it is taken; a wrong one sends the call on to the
  // next source. The origin's answer is checked below, the same way.
  auto wrong = [&](const http::ClientResponse& r) -> std::optional<std::string> {
    Digest actual = sha256_of(r.body);
    if (route.digest && actual != *route.digest)
      return "manifest does not match the requested digest";
    if (auto h = r.headers.get("Docker-Content-Digest"); h && *h != actual.str())
      return "manifest does not match its Docker-Content-Digest";
    if (!parse_manifest(r.body)) return "invalid manifest";
    return std::nullopt;
  };
  const auto path = fmt::format("/v2/{}/manifests/{}", route.repo, ref);
  Result<http::ClientResponse> resp = fail(Errc::upstream_unavailable, down_message(up));
  const std::vector<std::pair<std::string, std::string>> accept{
      {"Accept", route.accept.upstream_header()}};
  if (from_peers) {
    if (auto r = up.call_peers("GET", path, accept, wrong)) resp = *r;
  } else {
    resp = up.call("GET", path, route.repo, accept, wrong,
                   route.digest ? route.digest->str() : std::string(), asking_for(route));
  }
  if (!resp) return std::unexpected(resp.error());
  if (resp->status == 404) return fail(Errc::not_found, "manifest unknown upstream");
  if (resp->status == 401 || resp->status == 403)
    return fail(Errc::upstream_error,
                fmt::format("upstream {} refused {} (HTTP {})", up.name(),
                            up.has_credentials() ? "Outpost's credentials"
                                                 : "anonymous access (no credentials configured)",
                            resp->status));
  if (resp->status != 200)
    return fail(Errc::upstream_error, fmt::format("upstream answered HTTP {}", resp->status));
  auto& body = resp->body;
  Digest actual = sha256_of(body);
  if (route.digest && actual != *route.digest) {
    metrics_.counter(metric::registry_digest_mismatch_total).add({{"upstream", up.name()}});
    return fail(Errc::digest_mismatch, "upstream manifest does not match the requested digest");
  }
  if (auto h = resp->headers.get("Docker-Content-Digest"); h && *h != actual.str()) {
    metrics_.counter(metric::registry_digest_mismatch_total).add({{"upstream", up.name()}});
    return fail(Errc::digest_mismatch,
                "upstream manifest does not match its Docker-Content-Digest");
  }
  auto info = parse_manifest(body);
  if (!info)
    return fail(Errc::upstream_error, "upstream sent an invalid manifest: " + info.error().message);
  std::string media_type(resp->headers.get("Content-Type").value_or(""));
  if (media_type.empty() || media_type == "application/octet-stream") media_type = info->media_type;
  if (media_type.empty()) media_type = "application/vnd.oci.image.manifest.v1+json";

  if (auto p = store_.put(body, actual); !p) return std::unexpected(p.error());
  if (auto r = db_.put_blob(actual, body.size()); !r) return std::unexpected(r.error());
  std::vector<Digest> children;
  for (const auto* list : {&info->manifests, &info->blobs})
    for (const auto& desc : *list) children.push_back(desc.digest);
  if (auto r = db_.put_manifest(actual, media_type, body.size(), children); !r)
    return std::unexpected(r.error());
  if (!route.tag.empty()) {
    // From a peer: kept, but due for revalidation as soon as a source answers.
    const UnixSeconds checked = from_peers ? 0 : clock_.unix_now();
    if (auto r = db_.put_tag(up.name(), route.repo, tag_row(route), actual, checked); !r)
      return std::unexpected(r.error());
    if (!from_peers && !route.from_peer && route.accept.all())
      copy_to_peer(Kind::manifest, up.name(), route.repo, route.tag,
                   up.name() + "/" + route.repo + ":" + route.tag, actual.str());
  } else if (!from_peers && cluster_ && cluster_->owns(actual.str())) {
    copy_to_peer(Kind::manifest, up.name(), route.repo, actual.str(), actual.str(), "1");
  }
  cache_.add({{"kind", "manifest"}, {"result", "miss"}});
  if (!info->manifests.empty()) prefetch_children(up, route.repo, body);
  return ManifestResult{actual, media_type, std::move(body), CacheResult::miss};
}

void Mirror::prefetch_children(Upstream& up, const std::string& repo, const std::string& bytes) {
  auto info = parse_manifest(bytes);
  if (!info) return;
  pool_.post([this, &up, repo, children = info->manifests] {
    for (const auto& desc : children) {
      const Digest& d = desc.digest;
      if (stopping_ || up.down()) return;
      auto have = db_.manifest(d);
      if (have && *have && store_.contains(d)) continue;
      Route r;
      r.kind = Kind::manifest;
      r.upstream = up.name();
      r.repo = repo;
      r.digest = d;
      if (auto m = fetch_manifest(up, r, d.str()); !m)
        spdlog::warn("prefetch of platform manifest {} failed: {}", d.str(), m.error().message);
    }
  });
}

Result<ManifestResult> Mirror::release_manifest(const Route& route, http::Reach reach) {
  Result<ManifestResult> held = fail(Errc::not_found, "");
  if (route.digest) {
    held = cached_manifest(*route.digest, CacheResult::hit);
  } else {
    auto pin = db_.pinned_tag(std::string(kReleasesNamespace), route.repo, route.tag);
    if (!pin) return std::unexpected(pin.error());
    if (*pin) held = cached_manifest(**pin, CacheResult::hit);
  }
  if (held || held.error().code != Errc::not_found) return held;
  // Not held here: in a cluster, a client's request may take it from a peer that holds it.
  auto it = upstreams_.find(std::string(kReleasesNamespace));
  // No live peer: one restarted within its breaker's backoff may be the very replica whose
  // release this is (a release fanned out to this replica just after a restart) — ask again now.
  if (!route.from_peer && it != upstreams_.end() && it->second->live_peers() == 0 && cluster_)
    cluster_->probe_down_now();
  if (route.from_peer || it == upstreams_.end() || it->second->live_peers() == 0)
    return fail(Errc::not_found,
                fmt::format("release {} {} is not held by this Outpost", route.repo, route.tag));
  if (reach == http::Reach::local) return needs_upstream();
  return fetch_manifest_once(*it->second, route, route.digest ? route.digest->str() : route.tag,
                             true);
}

Result<ManifestResult> Mirror::manifest(const Route& route, http::Reach reach) {
  if (auto followed = source_manifest(route, reach)) return std::move(*followed);
  Result<ManifestResult> m = route.upstream == kReleasesNamespace ? release_manifest(route, reach)
                             : route.digest                       ? digest_manifest(route, reach)
                             : route.accept.all()
                                 ? tag_manifest(upstream(route.upstream), route, reach)
                                 : negotiated_tag(route, reach);
  const bool usable = m && route.accept.accepts(m->media_type);
  if (!usable && !route.digest && route.upstream != kReleasesNamespace)
    if (auto held = held_form(route, m); held && (*held || !m)) return std::move(*held);
  if (m && !route.accept.accepts(m->media_type))
    return fail(Errc::not_found, not_accepted_message(m->media_type, route.accept));
  return m;
}

Result<ManifestResult> Mirror::digest_manifest(const Route& route, http::Reach reach) {
  Upstream& up = upstream(route.upstream);
  // Digests are immutable: a cached one is served with no upstream call at all.
  if (auto m = cached_manifest(*route.digest, CacheResult::hit);
      m || m.error().code != Errc::not_found)
    return m;
  if (up.down() && up.live_peers() == 0) return fail(Errc::upstream_unavailable, down_message(up));
  if (reach == http::Reach::local) return needs_upstream();
  return fetch_manifest(up, route, route.digest->str());
}

Result<BlobResult> Mirror::blob(const Route& route, bool head, http::Reach reach) {
  const Digest& d = *route.digest;
  if (auto fd = store_.open(d); fd) {
    auto size = store_.size_of(d);
    if (!size) return std::unexpected(size.error());
    cache_.add({{"kind", "blob"}, {"result", "hit"}});
    touch(d);
    if (route.from_peer && !head && cluster_) cluster_->add_served(*size);
    return BlobResult{*size, std::move(*fd)};
  }
  if (route.upstream == kReleasesNamespace &&
      (route.from_peer || !upstreams_.contains(route.upstream)))
    return fail(Errc::not_found, "blob unknown to this Outpost");
  Upstream& up = upstream(route.upstream);
  // With a bucket behind the store (a hub on S3), it may hold the blob though upstream is down.
  if (up.down() && up.live_peers() == 0 && !tier_)
    return fail(Errc::upstream_unavailable, down_message(up));
  // Joining a download in progress waits for upstream's headers too.
  if (reach == http::Reach::local) return needs_upstream();
  if (head) {
    auto resp = up.call("HEAD", fmt::format("/v2/{}/blobs/{}", route.repo, d.str()), route.repo, {},
                        {}, d.str(), asking_for(route));
    if (!resp) return fail(Errc::upstream_unavailable, resp.error().message);
    if (resp->status == 404) return fail(Errc::not_found, "blob unknown upstream");
    if (resp->status != 200)
      return fail(Errc::upstream_error, fmt::format("upstream answered HTTP {}", resp->status));
    std::uint64_t size = 0;
    if (auto cl = resp->headers.get("Content-Length"))
      size = std::strtoull(std::string(*cl).c_str(), nullptr, 10);
    return BlobResult{size, std::monostate{}};
  }
  cache_.add({{"kind", "blob"}, {"result", "miss"}});
  auto f = fetcher_.fetch(up, route.repo, d, asking_for(route));
  if (!f) return std::unexpected(f.error());
  auto size = (*f)->wait_for_size();
  if (!size) return std::unexpected(size.error());
  if (route.from_peer && cluster_) cluster_->add_served(*size);
  return BlobResult{*size, std::move(*f)};
}

Result<void> Mirror::ensure_blob(const Route& route,
                                 const std::function<void(std::uint64_t)>& written) {
  // A mirror's wrong bytes fail one download and distrust that mirror; the next source gets a
  // new one. Each source is tried at most once.
  if (route.upstream == kReleasesNamespace && !upstreams_.contains(route.upstream))
    return store_.contains(*route.digest) ? Result<void>{}
                                          : fail(Errc::not_found, "blob unknown to this Outpost");
  Upstream& up = upstream(route.upstream);
  const auto sources = up.sources().size() + up.live_peers();
  Result<void> done;
  for (std::size_t round = 0; round < sources; ++round) {
    auto got = blob(route, false);  // fails itself when the download failed before it looked
    if (!got) {
      done = std::unexpected(got.error());
    } else if (auto* f = std::get_if<std::shared_ptr<BlobFetch>>(&got->body)) {
      done = written ? (*f)->wait_done(std::chrono::milliseconds(200), written) : (*f)->wait_done();
    } else {
      return {};
    }
    if (done || done.error().code != Errc::digest_mismatch) return done;
  }
  return done;
}

Result<std::string> Mirror::referrers(const Route& route, http::Reach reach) {
  if (route.upstream == kReleasesNamespace)
    return fail(Errc::not_found, "releases have no referrers");
  Upstream& up = upstream(route.upstream);
  const Digest& subject = *route.digest;
  if (!up.down()) {
    if (reach == http::Reach::local) return needs_upstream();
    auto resp = up.call("GET", fmt::format("/v2/{}/referrers/{}", route.repo, subject.str()),
                        route.repo, {{"Accept", "application/vnd.oci.image.index.v1+json"}});
    if (resp && resp->status == 200) {
      auto j = nlohmann::json::parse(resp->body, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("manifests") &&
          j["manifests"].is_array()) {
        (void)db_.put_referrers(up.name(), route.repo, subject, resp->body);
        return resp->body;
      }
    } else if (resp && resp->status == 404) {
      // No referrers API upstream (or no such repository): what a release brought is served;
      // otherwise clients fall back to the sha256-<hex> tag scheme, which they only do on a 404.
      auto kept = db_.referrers(up.name(), route.repo, subject);
      if (kept && *kept) return std::move(**kept);
      return fail(Errc::not_found, "upstream has no referrers for this digest");
    }
  }
  auto kept = db_.referrers(up.name(), route.repo, subject);
  if (!kept) return std::unexpected(kept.error());
  if (*kept) return std::move(**kept);
  return fail(Errc::not_found, up.down() ? down_message(up) + "; no referrers known offline"
                                         : "no referrers known for this digest");
}

}  // namespace outpost::registry
