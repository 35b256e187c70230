// registry::Mirror, its tags: resolution (by Accept set, revalidation, the offline answers, tags
#include "registry/metric_defs.hpp"
// deleted upstream) and tag lists (the upstream's, paged, and the stored ones when offline).
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
namespace {

// The query of a Link header's rel="next" target (`</v2/...?n=..&last=..>; rel="next"`), or
// nothing. Only the query is kept: the next page is asked of this upstream under the client's
// repository name, whatever path the source that answered put first (a hub's /artifactory/...
// prefix, a Harbor project).
std::optional<std::string> link_next_query(std::optional<std::string_view> link) {
  if (!link) return std::nullopt;
  auto open = link->find('<');
  auto close = link->find('>');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  if (link->substr(close).find("next") == std::string_view::npos) return std::nullopt;
  std::string target(link->substr(open + 1, close - open - 1));
  auto q = target.find('?');
  if (q == std::string::npos || target.find("/tags/list") == std::string::npos) return std::nullopt;
  return target.substr(q + 1);
}

}  // namespace

TagPage tag_page(const std::vector<std::string>& sorted, std::optional<std::size_t> n,
                 const std::string& last) {
  TagPage page;
  auto it = last.empty() ? sorted.begin() : std::upper_bound(sorted.begin(), sorted.end(), last);
  for (; it != sorted.end(); ++it) {
    if (n && page.tags.size() >= *n) {
      page.more = true;
      break;
    }
    page.tags.push_back(*it);
  }
  return page;
}

Result<ManifestResult> Mirror::deleted_upstream(Upstream& up, const Route& route,
                                                const Digest& cached) {
  if (!cfg_.keep_deleted_tags) return fail(Errc::not_found, "tag no longer exists upstream");
  auto m = cached_manifest(cached, CacheResult::stale);
  if (!m) return fail(Errc::not_found, "tag no longer exists upstream");
  metrics_.counter(metric::registry_deleted_tags_served_total).add({{"upstream", up.name()}});
  if (auto fresh =
          db_.note_deleted_tag(up.name(), route.repo, route.tag, cached, clock_.unix_now());
      fresh && *fresh)
    spdlog::warn(
        "registry: {}/{}:{} no longer exists upstream; serving the cached {} "
        "(registry.keep_deleted_tags)",
        up.name(), route.repo, route.tag, cached.str());
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
  metrics_.counter(metric::registry_revalidations_total)
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
    auto next = link_next_query(resp->headers.get("Link"));
    if (!next || all.size() == before) break;  // last page, or an upstream ignoring `last`
    path = fmt::format("/v2/{}/tags/list?{}", repo, *next);
  }
  return std::vector<std::string>(all.begin(), all.end());
}

Result<TagPage> Mirror::tags(const Route& route, std::optional<std::size_t> n,
                             const std::string& last, http::Reach reach) {
  if (route.upstream == kReleasesNamespace) {
    auto held = db_.pinned_tags(std::string(kReleasesNamespace), route.repo);
    if (!held) return std::unexpected(held.error());
    if (held->empty()) return fail(Errc::not_found, "no release of that name is held here");
    return tag_page(*held, n, last);  // sorted, no duplicates
  }
  if (auto followed = source_tags(route, n, last)) return std::move(*followed);
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
        return tag_page(*listed, n, last);  // sorted, no duplicates
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

}  // namespace outpost::registry
