#include "helm/handlers.hpp"

#include <fmt/format.h>

#include "cluster/cluster.hpp"
#include "http/status.hpp"

namespace outpost::helm {
namespace {

http::Response error_response(const Error& e) {
  return http::Response::text(http::status_for(e.code), e.message + "\n");
}

}  // namespace

std::optional<http::Response> handle_helm(HelmCache& cache, const HelmConfig& cfg,
                                          const http::Request& req, http::Reach reach) {
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = http::Response::text(405, "a Helm chart repository is read-only\n");
    r.headers.set("Allow", "GET, HEAD");
    return r;
  }
  auto parsed = parse_helm_path(req.path, cfg);
  if (!parsed) return error_response(parsed.error());
  http::Response r;
  if (parsed->what == HelmFile::index && req.headers.get(cluster::kPeerHeader)) {
    // A peer replica without a copy: this one's, as its source sent it, and from where.
    auto raw = cache.raw_index(parsed->repo);
    if (!raw) return error_response(raw.error());
    r.body = http::SharedBody{raw->first};
    r.headers.set("Content-Type", "application/x-yaml");
    r.headers.set("X-Outpost-Index-Url", raw->second);
  } else if (parsed->what == HelmFile::index) {
    auto idx = cache.index(parsed->repo, reach);
    if (!idx && idx.error().code == Errc::needs_upstream) return std::nullopt;
    if (!idx) return error_response(idx.error());
    r.body = http::SharedBody{idx->body};
    r.headers.set("Content-Type", "application/x-yaml");
    if (idx->stale_seconds)
      r.headers.set("X-Outpost-Stale-Seconds", fmt::format("{:.0f}", *idx->stale_seconds));
  } else {
    // A peer replica's request: never passed to an owner; one for what this replica holds is
    // answered from local state alone.
    const auto [from_peer, held_only] = cluster::peer_request(req.headers);
    auto d = cache.chart(parsed->repo, parsed->chart_file, held_only ? http::Reach::local : reach,
                         from_peer);
    if (!d && d.error().code == Errc::needs_upstream && held_only)
      return error_response({Errc::not_found, "chart not held here"});
    if (!d && d.error().code == Errc::needs_upstream) return std::nullopt;
    if (!d) return error_response(d.error());
    auto fd = cache.open(*d);
    if (!fd) return error_response(fd.error());
    r.headers.set("Content-Type", "application/gzip");
    r.headers.set("Docker-Content-Digest", d->str());
    r.body = http::FileBody{std::move(fd->first), 0, fd->second};
  }
  r.omit_body = req.method == "HEAD";
  return r;
}

}  // namespace outpost::helm
