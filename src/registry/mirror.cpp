#include "registry/mirror.hpp"

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
#include "registry/reference.hpp"

namespace outpost::registry {
namespace {

std::string down_message(const Upstream& up) {
  return fmt::format("upstream {} is unreachable ({})", up.name(), up.down_reason());
}

// The path of a Link header's rel="next" target on the same upstream (`</v2/...>; rel="next"`),
// or nothing. An absolute URL is reduced to its path: only this upstream is ever asked.
std::optional<std::string> link_next_path(std::optional<std::string_view> link) {
  if (!link) return std::nullopt;
  auto open = link->find('<');
  auto close = link->find('>');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  if (link->substr(close).find("next") == std::string_view::npos) return std::nullopt;
  std::string target(link->substr(open + 1, close - open - 1));
  if (auto scheme = target.find("://"); scheme != std::string::npos) {
    auto slash = target.find('/', scheme + 3);
    target = slash == std::string::npos ? "" : target.substr(slash);
  }
  if (!target.starts_with("/v2/")) return std::nullopt;
  return target;
}

std::unexpected<Error> needs_upstream() {
  return fail(Errc::needs_upstream, "only the upstream can answer this");
}

// The row a tag is kept under: the tag itself for a client that accepts every manifest type;
// `<tag>#<types>` for one that accepts only some ('#' is never in a tag, so the row never lists
// as a tag), so tags resolved for different Accept sets never overwrite each other's digests.
std::string tag_row(const Route& r) {
  return r.accept.all() ? r.tag : r.tag + "#" + r.accept.key();
}

// A client's request asks the owners first; a peer's only what the other peers hold.
cluster::Asking asking_for(const Route& route) {
  return route.from_peer ? cluster::Asking::holders_only : cluster::Asking::owners_first;
}

// One page of a sorted tag set: lexical order, strictly after `last`, at most n.
TagPage tag_page(const std::set<std::string>& all, std::optional<std::size_t> n,
                 const std::string& last) {
  TagPage page;
  for (auto it = last.empty() ? all.begin() : all.upper_bound(last); it != all.end(); ++it) {
    if (n && page.tags.size() >= *n) {
      page.more = true;
      break;
    }
    page.tags.push_back(*it);
  }
  return page;
}

}  // namespace

Mirror::Mirror(const RegistryConfig& cfg, BlobStore& store, MetaDb& db, http::HttpClient& client,
               Metrics& metrics, const Clock& clock, cluster::Cluster* cluster)
    : cfg_(cfg),
      clock_(clock),
      cluster_(cluster),
      store_(store),
      db_(db),
      metrics_(metrics),
      cache_(metrics.counter("outpost_registry_cache_total",
                             "Registry lookups by kind and result (hit, miss, stale)")),
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
    auto& up =
        metrics_.gauge("outpost_upstream_up", "1 when the upstream is reachable (circuit closed)");
    for (const auto& u : cfg_.upstreams)
      up.set({{"upstream", u.name}}, upstreams_.at(u.name)->down() ? 0 : 1);
    metrics_.gauge("outpost_store_bytes", "Bytes of published blobs in the store")
        .set({}, static_cast<double>(store_.total_bytes()));
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

std::vector<UpstreamHealth> Mirror::health() {
  std::vector<UpstreamHealth> out;
  for (const auto& u : cfg_.upstreams)
    out.push_back(upstream_health("registry", u.name, upstreams_.at(u.name)->sources()));
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
  if (!bytes) return std::unexpected(bytes.error());
  cache_.add({{"kind", "manifest"},
              {"result", how == CacheResult::hit     ? "hit"
                         : how == CacheResult::stale ? "stale"
                                                     : "miss"}});
  return ManifestResult{d, (*rec)->media_type, std::move(*bytes), how};
}

Result<ManifestResult> Mirror::deleted_upstream(Upstream& up, const Route& route,
                                                const Digest& cached) {
  if (!cfg_.keep_deleted_tags) return fail(Errc::not_found, "tag no longer exists upstream");
  auto m = cached_manifest(cached, CacheResult::stale);
  if (!m) return fail(Errc::not_found, "tag no longer exists upstream");
  metrics_
      .counter("outpost_registry_deleted_tags_served_total",
               "Pulls of cached tags that upstream no longer has (registry.keep_deleted_tags)")
      .add({{"upstream", up.name()}});
  if (auto fresh =
          db_.note_deleted_tag(up.name(), route.repo, route.tag, cached, clock_.unix_now());
      fresh && *fresh)
    spdlog::warn(
        "registry: {}/{}:{} no longer exists upstream; serving the cached {} "
        "(registry.keep_deleted_tags)",
        up.name(), route.repo, route.tag, cached.str());
  return m;
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

bool Mirror::peers_may_answer(Upstream& up, const Route& route) const {
  return !route.from_peer && up.live_peers() > 0;
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
    metrics_.counter("outpost_registry_digest_mismatch_total", "").add({{"upstream", up.name()}});
    return fail(Errc::digest_mismatch, "upstream manifest does not match the requested digest");
  }
  if (auto h = resp->headers.get("Docker-Content-Digest"); h && *h != actual.str()) {
    metrics_.counter("outpost_registry_digest_mismatch_total", "").add({{"upstream", up.name()}});
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
  if (auto r = db_.put_manifest(actual, media_type, body.size()); !r)
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

void Mirror::copy_to_peer(Kind kind, const std::string& upstream, const std::string& repo,
                          const std::string& ref, const std::string& key,
                          const std::string& keep_value) {
  if (!cluster_ || !cluster_->enabled() || upstream == kReleasesNamespace || stopping_) return;
  auto peer = cluster_->first_peer(key);
  if (!peer) return;
  const bool blob = kind == Kind::blob;
  auto copy = [this, peer = *peer, upstream, repo, ref, keep_value, blob] {
    http::ClientRequest req;
    req.url =
        with_ns(fmt::format("/v2/{}/{}/{}", repo, blob ? "blobs" : "manifests", ref), upstream);
    req.headers = {{cluster::kPeerKeepHeader, keep_value}};
    // The peer answers once it has its copy (taken from the peers that hold it).
    if (blob)
      req.stall_timeout = cfg_.stall_timeout;
    else
      req.total_timeout = 2 * cfg_.upstream_timeout;
    auto r = cluster_->send(peer, std::move(req));
    if (!r || r->status >= 300)
      spdlog::warn("cluster: peer {} did not keep a copy of {}/{}: {}", peer.source->url(), repo,
                   ref, r ? fmt::format("HTTP {}", r->status) : r.error().message);
  };
  if (ref.starts_with("sha256:"))
    pool_.post(std::move(copy));
  else
    copy();
}

Result<void> Mirror::keep(const Route& route, const std::optional<Digest>& resolved) {
  // Releases are written by a release import alone (the cluster fans those out itself).
  if (route.upstream == kReleasesNamespace)
    return fail(Errc::forbidden, "releases are kept by release import, not by a peer's keep");
  if (route.kind == Kind::blob) return ensure_blob(route);
  if (route.digest || !resolved) {
    auto m = manifest(route);
    if (!m) return std::unexpected(m.error());
    return {};
  }
  auto known = db_.tag(route.upstream, route.repo, route.tag);
  if (!known) return std::unexpected(known.error());
  if (*known) return {};  // this replica's own knowledge wins
  // The sender's digest is never taken on trust: the tag is resolved with this replica's own
  // sources, or nothing is kept.
  Upstream& up = upstream(route.upstream);
  if (up.down())
    return fail(Errc::upstream_unavailable,
                fmt::format("{}/{}:{} not kept: its sources are down, and a kept tag is resolved "
                            "with them",
                            route.upstream, route.repo, route.tag));
  // A HEAD confirms the sender's digest (the manifest then comes by digest, from the peers);
  // anything else resolves the tag in full.
  auto head = up.call("HEAD", fmt::format("/v2/{}/manifests/{}", route.repo, route.tag), route.repo,
                      {{"Accept", route.accept.upstream_header()}});
  if (!head) return std::unexpected(head.error());
  if (head->status == 404)
    return fail(Errc::not_found, fmt::format("{}/{}:{} not kept: its sources do not know it",
                                             route.upstream, route.repo, route.tag));
  if (head->status == 200 && head->headers.get("Docker-Content-Digest") == resolved->str()) {
    Route by_digest = route;
    by_digest.tag.clear();
    by_digest.digest = resolved;
    if (auto m = manifest(by_digest); !m) return std::unexpected(m.error());
    return db_.put_tag(up.name(), route.repo, tag_row(route), *resolved, clock_.unix_now());
  }
  auto m = tag_manifest(up, route, http::Reach::upstream);
  if (!m) return std::unexpected(m.error());
  spdlog::warn("registry: a peer asked to keep {}/{}:{} as {}; its sources resolve it to {}",
               route.upstream, route.repo, route.tag, resolved->str(), m->digest.str());
  return {};
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
  if (route.from_peer || it == upstreams_.end() || it->second->live_peers() == 0)
    return fail(Errc::not_found,
                fmt::format("release {} {} is not held by this Outpost", route.repo, route.tag));
  if (reach == http::Reach::local) return needs_upstream();
  return fetch_manifest_once(*it->second, route, route.digest ? route.digest->str() : route.tag,
                             true);
}

Result<ManifestResult> Mirror::manifest(const Route& route, http::Reach reach) {
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

std::optional<Result<ManifestResult>> Mirror::held_form(const Route& route,
                                                        const Result<ManifestResult>& answer) {
  // Online, each client's form is fetched with its own Accept; only with the sources down (or
  // an answer that they are) does any stored form of the tag stand in.
  Upstream& up = upstream(route.upstream);
  const bool sources_down =
      up.down() || (!answer && answer.error().code == Errc::upstream_unavailable);
  if (!sources_down) return std::nullopt;
  auto forms = db_.tag_forms(up.name(), route.repo, route.tag);
  if (!forms) return std::nullopt;
  std::optional<std::string> held_type;
  for (const auto& form : *forms) {
    auto m = cached_manifest(form.digest, CacheResult::stale);
    if (!m) continue;
    if (route.accept.accepts(m->media_type)) return std::move(*m);
    if (!held_type) held_type = m->media_type;
  }
  if (held_type)  // held, but in no form this client reads: say which form it is
    return fail(Errc::not_found, fmt::format("{} is unreachable; {}", up.name(),
                                             not_accepted_message(*held_type, route.accept)));
  return std::nullopt;
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

std::optional<std::string> Mirror::stored_type(Upstream& up, const Route& route) {
  std::optional<Digest> d;
  if (auto pin = db_.pinned_tag(up.name(), route.repo, route.tag); pin && *pin) d = **pin;
  if (!d)
    if (auto tag = db_.tag(up.name(), route.repo, route.tag); tag && *tag) d = (**tag).digest;
  if (!d) return std::nullopt;
  auto rec = db_.manifest(*d);
  if (!rec || !*rec) return std::nullopt;
  return (*rec)->media_type;
}

Result<ManifestResult> Mirror::negotiated_tag(const Route& route, http::Reach reach) {
  Upstream& up = upstream(route.upstream);
  Route any = route;
  any.accept = ManifestAccept();
  auto stored = stored_type(up, any);
  if (stored && route.accept.accepts(*stored)) {
    auto m = tag_manifest(up, any, reach);
    if (!m || route.accept.accepts(m->media_type)) return m;
    stored = m->media_type;  // the tag moved to a type this client does not take
  }
  auto m = tag_manifest(up, route, reach);
  if (m || m.error().code == Errc::needs_upstream || !stored) return m;
  return fail(Errc::not_found, not_accepted_message(*stored, route.accept));
}

Mirror::Revalidation Mirror::revalidate(Upstream& up, const Route& route, const Digest& cached) {
  auto head = up.call("HEAD", fmt::format("/v2/{}/manifests/{}", route.repo, route.tag), route.repo,
                      {{"Accept", route.accept.upstream_header()}});
  auto result = [&] {
    if (head && head->status == 404) return Revalidation::deleted;
    if (!head || head->status != 200) return Revalidation::failed;
    auto dcd = head->headers.get("Docker-Content-Digest");
    if (!dcd || *dcd != cached.str()) return Revalidation::moved;  // no digest: fetch to know
    (void)db_.put_tag(up.name(), route.repo, tag_row(route), cached, clock_.unix_now());
    return Revalidation::unchanged;
  }();
  static constexpr const char* kNames[] = {"unchanged", "moved", "deleted", "failed"};
  metrics_
      .counter("outpost_registry_revalidations_total",
               "Tag revalidations upstream (HEAD) by mode and result")
      .add({{"upstream", up.name()},
            {"mode", cfg_.revalidate == Revalidate::background ? "background" : "inline"},
            {"result", kNames[static_cast<int>(result)]}});
  return result;
}

void Mirror::revalidate_later(Upstream& up, const Route& route, const Digest& cached) {
  const std::string key = up.name() + "/" + route.repo + ":" + tag_row(route);
  {
    MutexLock lock(manifest_mu_);
    if (!revalidating_.insert(key).second) return;  // one in flight per tag
  }
  pool_.post([this, &up, route, cached, key] {
    if (!stopping_) {
      switch (revalidate(up, route, cached)) {
        case Revalidation::moved:
          if (auto m = fetch_manifest(up, route, route.tag); !m)
            spdlog::warn("registry: {}/{}:{} moved upstream, but fetching it failed: {}", up.name(),
                         route.repo, route.tag, m.error().message);
          break;
        case Revalidation::deleted:
          if (cfg_.keep_deleted_tags)
            (void)deleted_upstream(up, route, cached);
          else
            (void)db_.forget_tag(up.name(), route.repo, tag_row(route));
          break;
        case Revalidation::unchanged:
        case Revalidation::failed:
          break;
      }
    }
    MutexLock lock(manifest_mu_);
    revalidating_.erase(key);
    revalidated_.notify_all();
  });
}

void Mirror::wait_revalidations() {
  MutexLock lock(manifest_mu_);
  while (!revalidating_.empty()) revalidated_.wait(lock);
}

Result<ManifestResult> Mirror::tag_manifest(Upstream& up, const Route& route, http::Reach reach) {
  // A tag pinned by a retained release resolves to that release's digest, no upstream involved.
  if (route.accept.all())
    if (auto pin = db_.pinned_tag(up.name(), route.repo, route.tag); pin && *pin) {
      if (auto m = cached_manifest(**pin, CacheResult::hit); m) return m;
    }
  auto tag = db_.tag(up.name(), route.repo, tag_row(route));
  if (!tag) return std::unexpected(tag.error());
  if (*tag) {
    const auto& rec = **tag;
    bool fresh = clock_.unix_now() - rec.checked_at <
                 std::chrono::duration_cast<std::chrono::seconds>(cfg_.tag_ttl).count();
    if (fresh) {
      if (auto m = cached_manifest(rec.digest, CacheResult::hit); m) return m;
    } else if (up.down()) {
      if (auto m = cached_manifest(rec.digest, CacheResult::stale); m) return m;
    } else if (cfg_.revalidate == Revalidate::background) {
      // Served at once; the HEAD upstream runs after (a moved tag is served from the next pull).
      if (auto m = cached_manifest(rec.digest, CacheResult::hit); m) {
        revalidate_later(up, route, rec.digest);
        return m;
      }
    } else if (reach == http::Reach::local) {
      return needs_upstream();
    } else {
      // Revalidate with a HEAD; any failure serves the last known digest at once.
      switch (revalidate(up, route, rec.digest)) {
        case Revalidation::unchanged:
          if (auto m = cached_manifest(rec.digest, CacheResult::hit); m) return m;
          break;
        case Revalidation::moved:
          break;  // fetched below
        case Revalidation::deleted:
          return deleted_upstream(up, route, rec.digest);
        case Revalidation::failed:
          spdlog::warn("revalidating {}/{}:{} failed; serving last known digest", up.name(),
                       route.repo, route.tag);
          if (auto m = cached_manifest(rec.digest, CacheResult::stale); m) return m;
          break;
      }
    }
  }
  // A tag never resolved here, with the sources down: the peers may know it.
  const bool ask_peers = !*tag && peers_may_answer(up, route);
  if (up.down() && !ask_peers) return fail(Errc::upstream_unavailable, down_message(up));
  if (reach == http::Reach::local) return needs_upstream();
  if (up.down()) return fetch_manifest_once(up, route, route.tag, true);
  auto fetched = fetch_manifest(up, route, route.tag);
  if (!fetched && *tag && fetched.error().code != Errc::not_found) {
    if (auto m = cached_manifest((**tag).digest, CacheResult::stale); m) return m;
  }
  if (!fetched && *tag && fetched.error().code == Errc::not_found)
    return deleted_upstream(up, route, (**tag).digest);
  if (!fetched && ask_peers && fetched.error().code == Errc::upstream_unavailable)
    return fetch_manifest_once(up, route, route.tag, true);
  return fetched;
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
  if (up.down() && up.live_peers() == 0) return fail(Errc::upstream_unavailable, down_message(up));
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

Result<std::vector<std::string>> Mirror::upstream_tag_list(Upstream& up, const std::string& repo) {
  // Upstreams differ: some page (following Link), some ignore n and last and send everything,
  // unsorted. Asking for everything and following Link while it yields new tags works for all.
  std::set<std::string> all;
  std::string path = fmt::format("/v2/{}/tags/list", repo);
  for (int page = 0; page < 1000; ++page) {
    auto resp = up.call("GET", path, repo);
    if (!resp) return std::unexpected(resp.error());
    if (resp->status == 404) return fail(Errc::not_found, "repository unknown upstream");
    if (resp->status != 200)
      return fail(Errc::upstream_error, fmt::format("upstream answered HTTP {}", resp->status));
    auto j = nlohmann::json::parse(resp->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("tags") ||
        !(j["tags"].is_array() || j["tags"].is_null()))
      return fail(Errc::upstream_error, "upstream sent an unreadable tag list");
    std::size_t before = all.size();
    if (j["tags"].is_array())
      for (const auto& t : j["tags"])
        if (t.is_string() && valid_tag(t.get<std::string>())) all.insert(t.get<std::string>());
    auto next = link_next_path(resp->headers.get("Link"));
    if (!next || all.size() == before) break;  // last page, or an upstream ignoring `last`
    path = *next;
  }
  return std::vector<std::string>(all.begin(), all.end());
}

Result<TagPage> Mirror::tags(const Route& route, std::optional<std::size_t> n,
                             const std::string& last, http::Reach reach) {
  if (route.upstream == kReleasesNamespace) {
    auto held = db_.pinned_tags(std::string(kReleasesNamespace), route.repo);
    if (!held) return std::unexpected(held.error());
    if (held->empty()) return fail(Errc::not_found, "no release of that name is held here");
    return tag_page(std::set<std::string>(held->begin(), held->end()), n, last);
  }
  Upstream& up = upstream(route.upstream);
  // One snapshot of the full list serves every page for tag_ttl: paging is consistent, a client
  // walking the pages costs one upstream listing, and each page is one index range scan.
  auto fetched = db_.tag_list_fetched_at(up.name(), route.repo);
  if (!fetched) return std::unexpected(fetched.error());
  const bool fresh =
      *fetched && clock_.unix_now() - **fetched <
                      std::chrono::duration_cast<std::chrono::seconds>(cfg_.tag_ttl).count();
  if (!fresh) {
    Result<std::vector<std::string>> listed = fail(Errc::upstream_unavailable, "");
    if (!up.down()) {
      if (reach == http::Reach::local) return needs_upstream();
      listed = upstream_tag_list(up, route.repo);
    }
    if (listed) {
      if (!db_.put_tag_list(up.name(), route.repo, *listed, clock_.unix_now()))
        return tag_page(std::set<std::string>(listed->begin(), listed->end()), n, last);
    } else if (listed.error().code == Errc::not_found || listed.error().code == Errc::too_large) {
      return std::unexpected(listed.error());  // upstream's answer, or one over its bound
    } else {
      return offline_tags(up, route, *fetched, n, last);
    }
  }
  return stored_tags(up, route, n, last, MetaDb::TagSource::listed);
}

Result<TagPage> Mirror::stored_tags(Upstream& up, const Route& route, std::optional<std::size_t> n,
                                    const std::string& last, MetaDb::TagSource from) {
  const std::size_t limit = n ? *n + 1 : std::numeric_limits<std::size_t>::max();
  auto tags = db_.tag_list_page(up.name(), route.repo, last, limit, from);
  if (!tags) return std::unexpected(tags.error());
  TagPage page;
  page.more = n && tags->size() > *n;
  if (page.more) tags->resize(*n);
  page.tags = std::move(*tags);
  return page;
}

Result<TagPage> Mirror::offline_tags(Upstream& up, const Route& route,
                                     std::optional<UnixSeconds> fetched,
                                     std::optional<std::size_t> n, const std::string& last) {
  // The last list upstream sent, and every tag this Outpost has resolved since.
  auto page = stored_tags(up, route, n, last, MetaDb::TagSource::listed_and_resolved);
  if (!page) return page;
  if (page->tags.empty() && last.empty()) return fail(Errc::upstream_unavailable, down_message(up));
  page->partial = !fetched;
  page->warning = fetched
                      ? fmt::format(
                            "{} is unreachable: the tag list it sent {} s ago, and the tags pulled "
                            "through this Outpost since",
                            up.name(), clock_.unix_now() - *fetched)
                      : fmt::format(
                            "{} is unreachable and never listed this repository here: only the "
                            "tags pulled through this Outpost (partial)",
                            up.name());
  return page;
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
