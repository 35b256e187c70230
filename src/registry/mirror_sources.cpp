// registry::Mirror, for the followed GitOps sources (sources.oci): their tags and tag lists as the
// sources advertise them, and the upstream calls the sources' background checks make.
#include <fmt/format.h>

#include <algorithm>

#include "registry/metric_defs.hpp"
#include "registry/mirror.hpp"
#include "registry/mirror_parts.hpp"

namespace outpost::registry {

std::optional<Result<ManifestResult>> Mirror::source_manifest(const Route& route,
                                                              http::Reach reach) {
  if (!sources_ || route.digest || route.upstream == kReleasesNamespace) return std::nullopt;
  auto answer = sources_->tag(route.upstream, route.repo, route.tag);
  using Kind = SourceView::TagAnswer::Kind;
  if (answer.kind == Kind::usual) return std::nullopt;
  if (answer.kind == Kind::held) return fail(Errc::not_found, answer.why);
  // The advertised digest was fetched (and is pinned when kept) by the source's check; should it
  // be gone from the store, it is fetched again by digest.
  Route by_digest = route;
  by_digest.tag.clear();
  by_digest.digest = answer.digest;
  auto m = digest_manifest(by_digest, reach);
  if (m && !route.accept.accepts(m->media_type))
    return fail(Errc::not_found, not_accepted_message(m->media_type, route.accept));
  return m;
}

std::optional<Result<TagPage>> Mirror::source_tags(const Route& route, std::optional<std::size_t> n,
                                                   const std::string& last) {
  if (!sources_) return std::nullopt;
  auto list = sources_->tag_list(route.upstream, route.repo);
  if (!list) return std::nullopt;
  TagPage page = tag_page(*list->tags, n, last);
  page.snapshot_at = list->listed_at;
  if (!list->upstream_reached)
    page.warning = fmt::format(
        "{}/{} could not be listed at the last check ({}): the tag list it sent {} s ago",
        route.upstream, route.repo, list->last_error, clock_.unix_now() - list->listed_at);
  return page;
}

Result<std::vector<std::string>> Mirror::list_upstream_tags(const std::string& upstream_name,
                                                            const std::string& repo) {
  Upstream& up = upstream(upstream_name);
  if (up.down()) return fail(Errc::upstream_unavailable, down_message(up));
  auto listed = upstream_tag_list(up, repo);
  if (!listed) return listed;
  if (auto ok = db_.put_tag_list(up.name(), repo, *listed, clock_.unix_now()); !ok)
    return std::unexpected(ok.error());
  return listed;
}

Result<Digest> Mirror::resolve_upstream_tag(const std::string& upstream_name,
                                            const std::string& repo, const std::string& tag) {
  Upstream& up = upstream(upstream_name);
  if (up.down()) return fail(Errc::upstream_unavailable, down_message(up));
  Route route;
  route.kind = Kind::manifest;
  route.upstream = upstream_name;
  route.repo = repo;
  route.client_name = repo;
  route.tag = tag;
  auto head = up.call("HEAD", fmt::format("/v2/{}/manifests/{}", repo, tag), repo,
                      {{"Accept", route.accept.upstream_header()}});
  if (!head) return std::unexpected(head.error());
  if (head->status == 404)
    return fail(Errc::not_found, fmt::format("{}: no such tag upstream", tag));
  if (head->status != 200)
    return fail(Errc::upstream_error, fmt::format("upstream answered HTTP {}", head->status));
  if (auto dcd = head->headers.get("Docker-Content-Digest"))
    if (auto d = Digest::parse(*dcd)) return *d;
  auto m = fetch_manifest(up, route, tag);  // no digest header: the manifest says
  if (!m) return std::unexpected(m.error());
  return m->digest;
}

}  // namespace outpost::registry
