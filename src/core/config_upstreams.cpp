// The config sections of the pull-through protocols: registry, git (with gating and the pack
// cache) and helm, with the upstream and mirror rows they share.
#include <fmt/format.h>

#include <set>
#include <sstream>

#include "core/config.hpp"
#include "core/config_keys.hpp"

namespace outpost::config {
namespace {

void check_url(const std::string& origin, const std::string& key, const std::string& url,
               bool insecure) {
  if (url.starts_with("https://")) return;
  if (url.starts_with("http://")) {
    if (!insecure) bad(origin, key, "plain http:// needs insecure: true");
    return;
  }
  bad(origin, key,
      fmt::format("'{}' must start with https:// (or http:// with insecure: true)", url));
}

// ---- the key tables: one per section, each key listed once ----

template <class T>
Key<T> password_key(std::string_view k) {  // password_file or password_env, into T::password
  return {k, [](const Section& s, std::string_view, T& t) {
            t.password = s.secret("password_file", "password_env");
          }};
}

// How to reach one server: url, its own credentials, insecure. Rows shared by the origin of an
// upstream and by each of its mirrors.
template <class T>
KeyTable<T> connection_keys(KeyTable<T> first) {
  first.push_back(config::string_key("url", &T::url));
  first.push_back(config::string_key("username", &T::username));
  first.push_back(password_key<T>("password_file"));
  first.push_back(password_key<T>("password_env"));
  first.push_back(config::bool_key("insecure", &T::insecure));
  return first;
}

const KeyTable<MirrorConfig>& mirror_keys() {
  static const KeyTable<MirrorConfig> t = connection_keys<MirrorConfig>({});
  return t;
}

// `mirrors:` of an upstream entry, each URL checked like the origin's.
template <class T>
Key<T> mirrors_key() {
  return config::list_of(Key<T>{"mirrors",
                                [](const Section& s, std::string_view k, T& t) {
                                  s.sections(k, [&](const Section& e, std::size_t) {
                                    MirrorConfig m;
                                    read_keys(e, mirror_keys(), m);
                                    if (m.url.empty()) bad(e.origin(), e.key("url"), "is required");
                                    check_url(e.origin(), e.key("url"), m.url, m.insecure);
                                    while (m.url.ends_with('/')) m.url.pop_back();
                                    t.mirrors.push_back(std::move(m));
                                  });
                                }},
                         mirror_keys);
}

const KeyTable<RegistryUpstreamConfig>& registry_upstream_keys() {
  using R = RegistryUpstreamConfig;
  static const KeyTable<R> t =
      connection_keys<R>({config::string_key("name", &R::name), mirrors_key<R>()});
  return t;
}

const KeyTable<HostUpstreamConfig>& host_upstream_keys() {
  using H = HostUpstreamConfig;
  static const KeyTable<H> t =
      connection_keys<H>({config::string_key("host", &H::host), mirrors_key<H>()});
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
  return up;
}

HostUpstreamConfig host_upstream(const Section& u, std::set<std::string>& hosts,
                                 std::string_view what) {
  HostUpstreamConfig up;
  read_keys(u, host_upstream_keys(), up);
  const auto& origin = u.origin();
  if (up.host.empty()) bad(origin, u.key("host"), "is required");
  if (up.url.empty()) up.url = "https://" + up.host;
  for (char ch : up.host)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != ':')
      bad(origin, u.key("host"), "must be a host name like github.com");
  if (up.host.starts_with('-') || up.host.starts_with('.'))
    bad(origin, u.key("host"), "must be a host name like github.com");
  if (!hosts.insert(up.host).second)
    bad(origin, u.key("host"), fmt::format("duplicate {} upstream host", what));
  check_url(origin, u.key("url"), up.url, up.insecure);
  while (up.url.ends_with('/')) up.url.pop_back();
  return up;
}

template <class T>
Key<T> host_upstreams_key(std::string_view what) {
  return config::list_of(Key<T>{"upstreams",
                                [what](const Section& s, std::string_view k, T& t) {
                                  t.upstreams.clear();
                                  std::set<std::string> hosts;
                                  s.sections(k, [&](const Section& u, std::size_t) {
                                    t.upstreams.push_back(host_upstream(u, hosts, what));
                                  });
                                }},
                         host_upstream_keys);
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

namespace {

const KeyTable<GitGateConfig>& gate_keys() {
  using G = GitGateConfig;
  static const KeyTable<G> keys{
      config::string_key("repo", &G::repo),
      {"mode",
       [](const Section& s, std::string_view k, G& gate) {
         std::string mode;
         s.str(k, mode);
         if (mode == "images")
           gate.mode = GateMode::images;
         else if (mode == "bundle")
           gate.mode = GateMode::bundle;
         else
           bad(s.origin(), s.key(k), "must be images or bundle");
       }},
      {"paths", [](const Section& s, std::string_view k,
                   G& gate) { gate.paths = s.strings(k, "directories"); }},
      config::string_key("release_file", &G::release_file),
  };
  return keys;
}

GitGateConfig gate_config(const Section& g) {
  GitGateConfig gate;
  read_keys(g, gate_keys(), gate);
  if (!g.has("mode")) bad(g.origin(), g.key("mode"), "must be images or bundle");
  if (gate.repo.empty() || gate.repo.find('/') == std::string::npos)
    bad(g.origin(), g.key("repo"), "must be <host>/<path>, e.g. github.com/org/manifests");
  while (gate.repo.ends_with(".git")) gate.repo.resize(gate.repo.size() - 4);
  if (gate.paths.empty()) gate.paths.push_back(".");
  return gate;
}

const KeyTable<PackCacheConfig>& pack_cache_keys() {
  using P = PackCacheConfig;
  static const KeyTable<P> t{
      config::bool_key("enabled", &P::enabled),
      config::integer_key("max_bytes", &P::max_bytes, std::uint64_t{0}),
      config::duration_key("ttl", &P::ttl),
      config::integer_key("min_requests", &P::min_requests, 1),
  };
  return t;
}

}  // namespace

const KeyTable<GitConfig>& git_keys() {
  using G = GitConfig;
  static const KeyTable<G> t{
      config::duration_key("sync_interval", &G::sync_interval),
      config::duration_key("request_refresh_budget", &G::request_refresh_budget),
      config::duration_key("sync_timeout", &G::sync_timeout),
      config::duration_key("probe_timeout", &G::probe_timeout),
      config::duration_key("stall_timeout", &G::stall_timeout),
      config::duration_key("breaker_min_backoff", &G::breaker_min_backoff),
      config::duration_key("breaker_max_backoff", &G::breaker_max_backoff),
      config::integer_key("max_parallel_syncs", &G::max_parallel_syncs, 1),
      config::integer_key("max_upload_packs", &G::max_upload_packs, 1),
      config::integer_key("max_request_bytes", &G::max_request_bytes, std::size_t{65536}),
      {"public_url",
       [](const Section& s, std::string_view k, G& g) {
         s.str(k, g.public_url);
         while (g.public_url.ends_with('/')) g.public_url.pop_back();
       }},
      config::string_key("argocd_webhook", &G::argocd_webhook),
      {"webhook_secret_file",
       [](const Section& s, std::string_view k, G& g) {
         std::string file;
         s.str(k, file);
         if (!file.empty()) g.webhook_secret = read_secret_file(s.origin(), s.key(k), file);
       }},
      config::section_key("pack_cache", &G::pack_cache, pack_cache_keys),
      host_upstreams_key<G>("git"),
      config::list_of(Key<G>{"gating",
                             [](const Section& s, std::string_view k, G& g) {
                               s.sections(k, [&](const Section& e, std::size_t) {
                                 g.gating.push_back(gate_config(e));
                               });
                             }},
                      gate_keys),
  };
  return t;
}

const KeyTable<HelmConfig>& helm_keys() {
  using H = HelmConfig;
  static const KeyTable<H> t{
      config::duration_key("refresh_interval", &H::refresh_interval),
      config::duration_key("request_refresh_budget", &H::request_refresh_budget),
      config::duration_key("fetch_timeout", &H::fetch_timeout),
      config::duration_key("stall_timeout", &H::stall_timeout),
      config::duration_key("breaker_min_backoff", &H::breaker_min_backoff),
      config::duration_key("breaker_max_backoff", &H::breaker_max_backoff),
      config::integer_key("max_index_bytes", &H::max_index_bytes, std::size_t{1024}),
      config::integer_key("max_chart_bytes", &H::max_chart_bytes, std::size_t{1024}),
      host_upstreams_key<H>("helm"),
  };
  return t;
}

}  // namespace outpost::config

namespace outpost {

const HostUpstreamConfig* GitConfig::find(std::string_view host) const {
  for (const auto& u : upstreams)
    if (u.host == host) return &u;
  return nullptr;
}

const HostUpstreamConfig* HelmConfig::find(std::string_view host) const {
  for (const auto& u : upstreams)
    if (u.host == host) return &u;
  return nullptr;
}

const RegistryUpstreamConfig* RegistryConfig::find(std::string_view name) const {
  for (const auto& u : upstreams)
    if (u.name == name) return &u;
  return nullptr;
}

}  // namespace outpost
