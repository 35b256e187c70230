// registry::Mirror in a site cluster: whether peers may answer, the copy kept on a second
// replica, and keeps a peer asks for (resolved with this replica's own sources, never on trust).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "registry/manifest.hpp"
#include "registry/mirror.hpp"
#include "registry/mirror_parts.hpp"
#include "registry/reference.hpp"

namespace outpost::registry {

bool Mirror::peers_may_answer(Upstream& up, const Route& route) const {
  return !route.from_peer && up.live_peers() > 0;
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

}  // namespace outpost::registry
