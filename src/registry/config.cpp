#include "registry/config.hpp"

#include <fmt/format.h>

#include <set>

#include "registry/reference.hpp"
#include "upstream/config_keys.hpp"

namespace outpost::config {
namespace {

const KeyTable<RegistryUpstreamConfig>& registry_upstream_keys() {
  using R = RegistryUpstreamConfig;
  static const KeyTable<R> t = connection_keys<R>(
      {config::string_key("name", &R::name), mirrors_key<R>(registry_mirror_keys)});
  return t;
}

RegistryUpstreamConfig registry_upstream(const Section& u, std::set<std::string>& names) {
  RegistryUpstreamConfig up;
  read_keys(u, registry_upstream_keys(), up);
  const auto& origin = u.origin();
  if (up.name.empty()) bad(origin, u.key("name"), "is required");
  if (up.url.empty()) bad(origin, u.key("url"), "is required");
  if (up.name.find('/') != std::string::npos || up.name.starts_with('-'))
    bad(origin, u.key("name"), "must be a registry host name like ghcr.io (no '/')");
  if (!names.insert(up.name).second) bad(origin, u.key("name"), "duplicate upstream name");
  check_url(origin, u.key("url"), up.url, up.insecure);
  while (up.url.ends_with('/')) up.url.pop_back();
  for (auto& m : up.mirrors) {
    auto& p = m.repository_prefix;
    while (p.ends_with('/')) p.pop_back();
    while (p.starts_with('/')) p.erase(0, 1);
    if (!p.empty() && !outpost::registry::valid_repository(p))
      bad(origin, u.key("mirrors"),
          fmt::format("repository_prefix '{}' is not a repository path like dockerhub-proxy", p));
  }
  return up;
}

}  // namespace

const KeyTable<RegistryConfig>& registry_keys() {
  using R = RegistryConfig;
  static const KeyTable<R> t{
      config::string_key("default_upstream", &R::default_upstream),
      config::duration_key("tag_ttl", &R::tag_ttl),
      {"revalidate",
       [](const Section& s, std::string_view k, R& r) {
         std::string mode;
         s.str(k, mode);
         if (mode == "background")
           r.revalidate = Revalidate::background;
         else if (mode == "inline")
           r.revalidate = Revalidate::inline_;
         else
           bad(s.origin(), s.key(k), "must be background or inline");
       }},
      config::duration_key("upstream_timeout", &R::upstream_timeout),
      config::duration_key("stall_timeout", &R::stall_timeout),
      config::duration_key("breaker_min_backoff", &R::breaker_min_backoff),
      config::duration_key("breaker_max_backoff", &R::breaker_max_backoff),
      config::bool_key("keep_deleted_tags", &R::keep_deleted_tags),
      config::list_of(Key<R>{"upstreams",
                             [](const Section& s, std::string_view k, R& r) {
                               r.upstreams.clear();
                               std::set<std::string> names;
                               s.sections(k, [&](const Section& u, std::size_t) {
                                 r.upstreams.push_back(registry_upstream(u, names));
                               });
                             }},
                      registry_upstream_keys),
  };
  return t;
}

}  // namespace outpost::config

namespace outpost {

const RegistryUpstreamConfig* RegistryConfig::find(std::string_view name) const {
  for (const auto& u : upstreams)
    if (u.name == name) return &u;
  return nullptr;
}

}  // namespace outpost
