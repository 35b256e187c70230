#include "registry/handlers.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>

#include "cluster/cluster.hpp"
#include "core/time.hpp"
#include "http/range.hpp"
#include "http/status.hpp"
#include "nodes/canary.hpp"
#include "nodes/node_book.hpp"
#include "registry/oci_error.hpp"
#include "registry/reference.hpp"

namespace outpost::registry {
namespace {

// The status is http::status_for's, with one registry rule: absent here and not obtainable now
// (upstream unavailable) is a fast 404, so containerd moves on to its next host. The registry adds
// only the OCI error code.
http::Response from_error(Error e, std::string_view unknown_code) {
  // needs_upstream reaches here only for a peer asking for what this replica holds.
  if (e.code == Errc::upstream_unavailable || e.code == Errc::needs_upstream)
    e.code = Errc::not_found;
  int status = http::status_for(e.code);
  switch (e.code) {
    case Errc::not_found:
      return oci_error(status, unknown_code, e.message);
    case Errc::invalid_argument:
    case Errc::unsupported:
      return oci_error(status, "UNSUPPORTED", e.message);
    case Errc::unauthorized:
      return oci_error(status, "UNAUTHORIZED", e.message);
    case Errc::forbidden:
      return oci_error(status, "DENIED", e.message);
    case Errc::too_large:
      return oci_error(status, "SIZE_INVALID", e.message);
    case Errc::no_space:
      return oci_error(status, "UNKNOWN", "storage full: " + e.message);
    case Errc::cancelled:
      return oci_error(status, "UNAVAILABLE", "server is shutting down");
    default:
      return oci_error(status, "UNKNOWN", e.message);
  }
}

http::Response route_error(const RouteError& e) {
  using C = RouteError::Code;
  switch (e.code) {
    case C::name_invalid:
      return oci_error(400, "NAME_INVALID", e.message);
    case C::name_unknown:
      return oci_error(404, "NAME_UNKNOWN", e.message);
    case C::digest_invalid:
      return oci_error(400, "DIGEST_INVALID", e.message);
    case C::manifest_invalid:
      // A reference that is neither a valid tag nor a digest names no manifest: 404, as the
      // distribution spec's conformance suite expects (clients treat it as "not here").
      return oci_error(404, "MANIFEST_UNKNOWN", e.message);
    case C::not_found:
      return oci_error(404, "NOT_FOUND", e.message);
  }
  return oci_error(400, "UNSUPPORTED", e.message);
}

http::Response manifest_response(const http::Request& req, ManifestResult m) {
  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", m.media_type);
  r.headers.set("Docker-Content-Digest", m.digest.str());
  r.headers.set("ETag", "\"" + m.digest.str() + "\"");
  r.headers.set("X-Outpost-Cache", m.cache == CacheResult::hit     ? "hit"
                                   : m.cache == CacheResult::stale ? "stale"
                                                                   : "miss");
  r.omit_body = req.method == "HEAD";
  r.body = std::move(m.bytes);
  return r;
}

http::Response blob_response(const http::Request& req, const Digest& d, BlobResult b) {
  http::Response r;
  r.headers.set("Content-Type", "application/octet-stream");
  r.headers.set("Docker-Content-Digest", d.str());
  r.headers.set("Accept-Ranges", "bytes");
  r.headers.set("ETag", "\"" + d.str() + "\"");
  r.headers.set("Cache-Control", "max-age=31536000");
  std::uint64_t first = 0, length = b.size;
  auto range = http::parse_range(req.headers.get("Range"), b.size);
  if (range.kind == http::RangeKind::unsatisfiable) {
    auto e = oci_error(416, "BLOB_UNKNOWN", "requested range not satisfiable");
    e.headers.set("Content-Range", fmt::format("bytes */{}", b.size));
    return e;
  }
  if (range.kind == http::RangeKind::satisfiable) {
    first = range.range.first;
    length = range.range.length;
    r.status = 206;
    r.headers.set("Content-Range",
                  fmt::format("bytes {}-{}/{}", first, first + length - 1, b.size));
  }
  if (req.method == "HEAD" || std::holds_alternative<std::monostate>(b.body)) {
    r.omit_body = true;
    r.head_length = length;
    r.body = std::string();
    return r;
  }
  if (auto* fd = std::get_if<UniqueFd>(&b.body)) {
    r.body = http::FileBody{std::move(*fd), first, length};
  } else {
    r.body = http::StreamBody{std::get<std::shared_ptr<BlobFetch>>(b.body), first, length};
  }
  return r;
}

std::string next_link(const http::Request& req, std::size_t n, const std::string& last) {
  std::string link = fmt::format("<{}?n={}&last={}", req.path, n, last);
  if (auto ns = req.query_param("ns")) link = with_ns(std::move(link), *ns);
  return link + ">; rel=\"next\"";
}

// The referrers index with only the descriptors of one artifactType (the index is kept whole).
std::string filter_referrers(const std::string& index, std::string_view artifact_type) {
  auto j = nlohmann::json::parse(index, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
    return index;
  auto kept = nlohmann::json::array();
  for (const auto& m : j["manifests"])
    if (m.is_object() && m.contains("artifactType") && m["artifactType"].is_string() &&
        m["artifactType"].get<std::string>() == artifact_type)
      kept.push_back(m);
  j["manifests"] = std::move(kept);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// GET …/tags/list: one page (n, last), a Link to the next, and a Warning when the list is not
// upstream's current one. nullopt: the local tier cannot answer.
std::optional<http::Response> tags_answer(Mirror& mirror, const http::Request& req,
                                          const Route& route, http::Reach reach, bool held_only) {
  std::optional<std::size_t> n;
  if (auto q = req.query_param("n")) {
    std::size_t v = 0;
    auto [p, ec] = std::from_chars(q->data(), q->data() + q->size(), v);
    if (ec != std::errc() || p != q->data() + q->size() || v > 100000)
      return oci_error(400, "PAGINATION_NUMBER_INVALID", "n must be an integer 0..100000");
    n = v;
  }
  std::string last(req.query_param("last").value_or(""));
  if (!last.empty() && !valid_tag(last)) return oci_error(400, "TAG_INVALID", "invalid 'last' tag");
  auto page = mirror.tags(route, n, last, reach);
  if (!page && page.error().code == Errc::needs_upstream && !held_only) return std::nullopt;
  if (!page) return from_error(page.error(), "NAME_UNKNOWN");
  nlohmann::json body = {{"name", route.client_name}, {"tags", page->tags}};
  auto r = http::Response::json(200, body.dump());
  if (!page->warning.empty()) {
    // Not upstream's current list: the distribution spec's warning header says so, and
    // X-Outpost-Tags says how (stale: upstream's last list and tags pulled since; partial: only
    // tags pulled here).
    r.headers.set("Warning", fmt::format("299 - \"{}\"", page->warning));
    r.headers.set("X-Outpost-Tags", page->partial ? "partial" : "stale");
    r.headers.set("X-Outpost-Cache", "stale");
  }
  if (page->snapshot_at) {
    // A followed source's list (sources.oci): the snapshot its last listing took, held-back
    // versions left out; X-Outpost-Tags-Listed-At says when upstream sent it.
    if (page->warning.empty()) r.headers.set("X-Outpost-Tags", "snapshot");
    r.headers.set(
        "X-Outpost-Tags-Listed-At",
        iso8601(std::chrono::system_clock::time_point(std::chrono::seconds(*page->snapshot_at))));
  }
  if (page->more && n && !page->tags.empty())
    r.headers.set("Link", next_link(req, *n, page->tags.back()));
  return r;
}

// GET …/referrers/<digest>[?artifactType=]. nullopt: the local tier cannot answer.
std::optional<http::Response> referrers_answer(Mirror& mirror, const http::Request& req,
                                               const Route& route, http::Reach reach,
                                               bool held_only) {
  auto idx = mirror.referrers(route, reach);
  if (!idx && idx.error().code == Errc::needs_upstream && !held_only) return std::nullopt;
  if (!idx) return from_error(idx.error(), "MANIFEST_UNKNOWN");
  auto type = req.query_param("artifactType");
  auto r = http::Response::text(200, type ? filter_referrers(*idx, *type) : std::move(*idx),
                                "application/vnd.oci.image.index.v1+json");
  if (type) r.headers.set("OCI-Filters-Applied", "artifactType");
  r.omit_body = req.method == "HEAD";
  return r;
}

// The canary (nodes/canary.hpp), under any upstream's name: answered here, never upstream. A
// fetch of its manifest by tag is the node's canary pull.
http::Response canary_answer(const http::Request& req, const Route& route, nodes::NodeBook* book) {
  if (route.kind == Kind::manifest) {
    auto doc = nodes::canary_manifest(route.digest ? route.digest->str() : route.tag);
    if (!doc) return oci_error(404, "MANIFEST_UNKNOWN", "not a manifest of the canary");
    if (book && !route.digest) book->canary(req.remote, route.tag, route.upstream);
    return manifest_response(
        req, {doc->digest, doc->media_type, std::move(doc->bytes), CacheResult::hit});
  }
  if (route.kind == Kind::blob) {
    auto blob = nodes::canary_blob(*route.digest);
    if (!blob) return oci_error(404, "BLOB_UNKNOWN", "not a blob of the canary");
    auto r = http::Response::text(200, std::move(*blob), "application/octet-stream");
    r.headers.set("Docker-Content-Digest", route.digest->str());
    r.omit_body = req.method == "HEAD";
    return r;
  }
  return http::Response::json(
      200, nlohmann::json{{"name", route.client_name}, {"tags", nlohmann::json::array()}}.dump());
}

}  // namespace

std::optional<http::Response> handle_v2(Mirror& mirror, const RegistryConfig& cfg,
                                        const http::Request& req, http::Reach reach,
                                        nodes::NodeBook* nodes) {
  auto ns = req.query_param("ns");
  auto route = parse_route(req.path, ns, cfg);
  // A peer replica's request is never forwarded to another; one for what this replica holds is
  // answered from local state alone (404 rather than a wait on upstream).
  const auto [from_peer, held_only] = cluster::peer_request(req.headers);
  if (held_only) reach = http::Reach::local;
  if (route) {
    route->from_peer = from_peer;
    route->accept = ManifestAccept::parse(req.headers.joined("Accept"));
  }
  // The reference is checked before the method: a PUT of an invalid reference is that
  // reference's error (the conformance suite expects 400 or 404), not 405.
  if (!route) return route_error(route.error());
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = oci_error(405, "UNSUPPORTED",
                       "this registry is a read-only mirror: push and delete are refused "
                       "(load images with `outpost bundle import`)");
    r.headers.set("Allow", "GET, HEAD");
    return r;
  }
  // A peer asks this replica to keep a copy (it waits on the peers: never on the local tier). The
  // guard leaves the header only on a request with the peer token (http/auth.hpp).
  if (auto keep = req.headers.get(cluster::kPeerKeepHeader);
      keep && from_peer && (route->kind == Kind::blob || route->kind == Kind::manifest)) {
    if (reach == http::Reach::local) return std::nullopt;
    std::optional<Digest> resolved;
    if (auto d = Digest::parse(*keep)) resolved = *d;
    auto kept = mirror.keep(*route, resolved);
    if (!kept) return from_error(kept.error(), "BLOB_UNKNOWN");
    return http::Response::text(200, "kept\n");
  }

  if (route->repo == nodes::kCanaryRepository && route->kind != Kind::base)
    return canary_answer(req, *route, from_peer ? nullptr : nodes);
  if (nodes && !from_peer && route->kind == Kind::manifest) nodes->pulled(req.remote);

  switch (route->kind) {
    case Kind::base: {
      auto r = http::Response::json(200, "{}");
      r.headers.set("Docker-Distribution-API-Version", "registry/2.0");
      return r;
    }
    case Kind::upload:
      return oci_error(405, "UNSUPPORTED", "uploads are refused by this read-only mirror");
    case Kind::manifest: {
      auto m = mirror.manifest(*route, reach);
      if (!m && m.error().code == Errc::needs_upstream && !held_only) return std::nullopt;
      if (!m) return from_error(m.error(), "MANIFEST_UNKNOWN");
      return manifest_response(req, std::move(*m));
    }
    case Kind::blob: {
      auto b = mirror.blob(*route, req.method == "HEAD", reach);
      if (!b && b.error().code == Errc::needs_upstream && !held_only) return std::nullopt;
      if (!b) return from_error(b.error(), "BLOB_UNKNOWN");
      return blob_response(req, *route->digest, std::move(*b));
    }
    case Kind::tags:
      return tags_answer(mirror, req, *route, reach, held_only);
    case Kind::referrers:
      return referrers_answer(mirror, req, *route, reach, held_only);
  }
  return oci_error(404, "NOT_FOUND", "unknown endpoint");
}

}  // namespace outpost::registry
