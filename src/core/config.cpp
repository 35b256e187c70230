#include "core/config.hpp"

#include "core/config_section.hpp"
#include "core/text.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace outpost {
namespace {

using config::bad;
using config::Key;
using config::KeyTable;
using config::read_keys;
using config::read_secret_file;
using config::Section;

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

std::vector<AuthGroup> parse_groups(const Section& s, std::string_view k) {
  std::vector<AuthGroup> out;
  for (const auto& v : s.strings(k, "groups (registry, git, status, admin)")) {
    auto group = parse_auth_group(v);
    if (!group)
      bad(s.origin(), s.key(k),
          fmt::format("unknown group '{}' (registry, git, status, admin, peer)", v));
    out.push_back(*group);
  }
  return out;
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

const KeyTable<AuthConfig::Token>& token_keys() {
  using T = AuthConfig::Token;
  auto secret = [](const Section& s, std::string_view, T& t) {
    t.value = s.secret("token_file", "token_env");
  };
  static const KeyTable<T> keys{
      config::string_key("name", &T::name),
      {"token_file", secret},
      {"token_env", secret},
      {"groups", [](const Section& s, std::string_view k, T& t) { t.groups = parse_groups(s, k); }},
  };
  return keys;
}

AuthConfig::Token token_config(const Section& s, std::size_t i) {
  AuthConfig::Token tok;
  read_keys(s, token_keys(), tok);
  if (!s.has("token_file") && !s.has("token_env"))
    bad(s.origin(), s.key("token_file"), "give token_file or token_env (one of them)");
  if (tok.value.size() < 16)
    bad(s.origin(), s.key("token_file"), "tokens must be at least 16 characters");
  if (!s.has("groups")) bad(s.origin(), s.key("groups"), "is required");
  if (tok.name.empty()) tok.name = fmt::format("token{}", i);
  return tok;
}

// user:hash lines as `htpasswd -B` writes them (bcrypt or SHA-crypt).
void read_htpasswd(const Section& s, std::string_view k, AuthConfig& auth) {
  std::string path;
  s.str(k, path);
  if (path.empty()) return;
  std::istringstream in(read_secret_file(s.origin(), s.key(k), path));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.starts_with('#')) continue;
    auto colon = line.find(':');
    auto hash = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (colon == 0 || !(hash.starts_with("$2") || hash.starts_with("$6$") ||
                        hash.starts_with("$5$") || hash.starts_with("$y$")))
      bad(s.origin(), s.key(k),
          fmt::format("line {}: expected user:hash with a bcrypt or SHA-crypt hash (htpasswd -B)",
                      n));
    auth.htpasswd[line.substr(0, colon)] = hash;
  }
}

// An htpasswd user's groups (users not listed get registry, git and status).
struct UserGroups {
  std::string name;
  std::vector<AuthGroup> groups;
};

const KeyTable<UserGroups>& user_keys() {
  static const KeyTable<UserGroups> keys{
      config::string_key("name", &UserGroups::name),
      {"groups",
       [](const Section& s, std::string_view k, UserGroups& u) { u.groups = parse_groups(s, k); }},
  };
  return keys;
}

const KeyTable<AuthConfig>& auth_keys() {
  using A = AuthConfig;
  static const KeyTable<A> t{
      {"require",
       [](const Section& s, std::string_view k, A& a) { a.require = parse_groups(s, k); }},
      config::bool_key("admin_from_loopback", &A::admin_from_loopback),
      config::list_of(Key<A>{"tokens",
                             [](const Section& s, std::string_view k, A& a) {
                               s.sections(k, [&](const Section& e, std::size_t i) {
                                 a.tokens.push_back(token_config(e, i));
                               });
                             }},
                      token_keys),
      {"htpasswd_file", read_htpasswd},
      config::list_of(  // after htpasswd_file: each user must be in it
          Key<A>{"users",
                 [](const Section& s, std::string_view k, A& a) {
                   s.sections(k, [&](const Section& e, std::size_t) {
                     UserGroups u;
                     read_keys(e, user_keys(), u);
                     if (!a.htpasswd.contains(u.name))
                       bad(e.origin(), e.key("name"),
                           fmt::format("user '{}' is not in auth.htpasswd_file", u.name));
                     if (!e.has("groups")) bad(e.origin(), e.key("groups"), "is required");
                     a.user_groups[u.name] = std::move(u.groups);
                   });
                 }},
          user_keys),
  };
  return t;
}

}  // namespace

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

Config default_config() {
  Config c;
  for (const char* host : {"github.com", "gitlab.com"}) {
    auto& up = c.git.upstreams.emplace_back();
    up.host = host;
    up.url = std::string("https://") + host;
  }
  for (auto [name, url] :
       {std::pair{"docker.io", "https://registry-1.docker.io"},
        std::pair{"ghcr.io", "https://ghcr.io"}, std::pair{"quay.io", "https://quay.io"},
        std::pair{"registry.k8s.io", "https://registry.k8s.io"}}) {
    auto& up = c.registry.upstreams.emplace_back();
    up.name = name;
    up.url = url;
  }
  return c;
}

namespace {

const KeyTable<LogConfig>& log_keys() {
  static const KeyTable<LogConfig> t{
      {"format",
       [](const Section& s, std::string_view k, LogConfig& l) {
         std::string format;
         s.str(k, format);
         auto f = parse_log_format(format);
         if (!f) bad(s.origin(), s.key(k), "must be text or json");
         l.format = *f;
       }},
      config::string_key("level", &LogConfig::level),
  };
  return t;
}

const KeyTable<ServerConfig>& server_keys() {
  using S = ServerConfig;
  auto pem = [](std::string S::*m) {
    return [m](const Section& s, std::string_view k, S& c) {
      s.str(k, c.*m);
      if (!(c.*m).empty()) (void)read_secret_file(s.origin(), s.key(k), c.*m);
    };
  };
  static const KeyTable<S> t{
      config::integer_key("max_header_bytes", &S::max_header_bytes, std::size_t{1024}),
      config::integer_key("max_body_bytes", &S::max_body_bytes, std::size_t{1024}),
      config::duration_key("read_timeout", &S::read_timeout),
      config::duration_key("write_timeout", &S::write_timeout),
      config::duration_key("shutdown_grace", &S::shutdown_grace),
      config::integer_key("worker_threads", &S::worker_threads, 1),
      config::integer_key("local_threads", &S::local_threads, 1),
      config::integer_key("api_threads", &S::api_threads, 1),
      {"tls_cert_file", pem(&S::tls_cert_file)},
      {"tls_key_file", pem(&S::tls_key_file)},
  };
  return t;
}

const KeyTable<BundleConfig>& bundle_keys() {
  using B = BundleConfig;
  static const KeyTable<B> t{
      {"allowed_sources",
       [](const Section& s, std::string_view k, B& b) {
         auto list = s.strings(k, "URL or path prefixes");
         for (std::size_t i = 0; i < list.size(); ++i) {
           const auto& v = list[i];
           if (!v.starts_with("http://") && !v.starts_with("https://") &&
               !v.starts_with("oci://") && !v.starts_with("/"))
             bad(s.origin(), fmt::format("{}[{}]", s.key(k), i),
                 "must be an http(s) URL, an oci:// reference or an absolute path prefix");
         }
         b.allowed_sources = std::move(list);
       }},
      config::integer_key("download_attempts", &B::download_attempts, 1),
      config::duration_key("stall_timeout", &B::stall_timeout),
      {"trust_keys",
       [](const Section& s, std::string_view k, B& b) {
         auto files = s.strings(k, "PEM public key files");
         for (std::size_t i = 0; i < files.size(); ++i) {
           auto key = fmt::format("{}[{}]", s.key(k), i);
           auto text = read_secret_file(s.origin(), key, files[i]);
           if (text.find("BEGIN PUBLIC KEY") == std::string::npos)
             bad(s.origin(), key, "is not a PEM public key");
           b.trust_keys.push_back(text);
         }
       }},
  };
  return t;
}

const KeyTable<StorageConfig>& storage_keys() {
  using S = StorageConfig;
  static const KeyTable<S> t{
      config::integer_key("keep_releases", &S::keep_releases, 1),
      config::fraction_key("gc_high_watermark", &S::gc_high_watermark),
      config::fraction_key("gc_low_watermark", &S::gc_low_watermark),
      config::duration_key("gc_interval", &S::gc_interval),
  };
  return t;
}

// An http(s)://host[:port] URL with no path, as a replica is reached.
void check_replica_url(const Section& s, const std::string& key, const std::string& url) {
  auto rest = url.starts_with("http://")    ? std::string_view(url).substr(7)
              : url.starts_with("https://") ? std::string_view(url).substr(8)
                                            : std::string_view();
  if (rest.empty() || rest.find('/') != std::string_view::npos)
    bad(s.origin(), key, fmt::format("'{}' is not an http(s)://host:port URL", url));
}

const KeyTable<ClusterConfig>& cluster_keys() {
  using K = ClusterConfig;
  static const KeyTable<K> t{
      {"advertise",
       [](const Section& s, std::string_view k, K& c) {
         s.str(k, c.advertise);
         check_replica_url(s, s.key(k), c.advertise);
       }},
      {"peers",
       [](const Section& s, std::string_view k, K& c) {
         c.peers = s.strings(k, "replica URLs");
         for (std::size_t i = 0; i < c.peers.size(); ++i) {
           while (c.peers[i].ends_with('/')) c.peers[i].pop_back();
           check_replica_url(s, fmt::format("{}[{}]", s.key(k), i), c.peers[i]);
         }
       }},
      {"peers_dns",
       [](const Section& s, std::string_view k, K& c) {
         s.str(k, c.peers_dns);
         auto colon = c.peers_dns.rfind(':');
         if (colon == std::string::npos || colon == 0 || colon + 1 == c.peers_dns.size())
           bad(s.origin(), s.key(k), "must be host:port (a headless Service name and its port)");
       }},
      config::duration_key("dns_interval", &K::dns_interval),
      config::duration_key("peer_timeout", &K::peer_timeout),
      config::duration_key("breaker_min_backoff", &K::breaker_min_backoff),
      config::duration_key("breaker_max_backoff", &K::breaker_max_backoff),
  };
  return t;
}

const KeyTable<Config>& top_keys() {
  using C = Config;
  static const KeyTable<C> t{
      config::string_key("listen", &C::listen),
      {"data_dir",
       [](const Section& s, std::string_view k, C& c) {
         std::string dir;
         s.str(k, dir);
         if (!dir.empty()) c.data_dir = dir;
       }},
      config::section_key("log", &C::log, log_keys),
      config::section_key("server", &C::server, server_keys),
      config::section_key("registry", &C::registry, registry_keys),
      config::section_key("git", &C::git, git_keys),
      config::section_key("helm", &C::helm, helm_keys),
      config::section_key("storage", &C::storage, storage_keys),
      config::section_key("bundle", &C::bundle, bundle_keys),
      config::section_key("auth", &C::auth, auth_keys),
      config::section_key("cluster", &C::cluster, cluster_keys),
  };
  return t;
}

// Checks across keys, for the file and again after environment overrides.
void validate(const Config& c, const std::string& origin) {
  parse_listen(c.listen);
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
  if (!levels.contains(c.log.level))
    bad(origin, "log.level", "must be trace|debug|info|warn|error");
  if (c.server.tls_cert_file.empty() != c.server.tls_key_file.empty())
    bad(origin, "server.tls_cert_file", "give both tls_cert_file and tls_key_file");
  if (!c.registry.default_upstream.empty() && !c.registry.find(c.registry.default_upstream))
    bad(origin, "registry.default_upstream",
        fmt::format("'{}' is not one of registry.upstreams", c.registry.default_upstream));
  if (c.registry.breaker_min_backoff > c.registry.breaker_max_backoff)
    bad(origin, "registry.breaker_min_backoff", "is larger than breaker_max_backoff");
  if (c.storage.gc_low_watermark >= c.storage.gc_high_watermark)
    bad(origin, "storage.gc_low_watermark", "must be below gc_high_watermark");
  if (c.cluster.breaker_min_backoff > c.cluster.breaker_max_backoff)
    bad(origin, "cluster.breaker_min_backoff", "is larger than breaker_max_backoff");
  const bool peer_token = std::ranges::any_of(c.auth.tokens, [](const auto& t) {
    return std::ranges::find(t.groups, AuthGroup::peer) != t.groups.end();
  });
  if (c.cluster.enabled() && !peer_token)
    bad(origin, "auth.tokens",
        "a cluster needs a token in group peer, the same on every replica: it is what admits a "
        "replica's requests as a peer's (docs/cluster.md)");
}

}  // namespace

std::vector<std::string> config_key_paths() {
  return config::key_paths(top_keys());
}

namespace {

Config parse_document(const YAML::Node& root, const std::string& origin) {
  Config c = default_config();
  if (root.IsNull()) return c;
  read_keys(Section(root, "", origin), top_keys(), c);
  validate(c, origin);
  return c;
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& origin) {
  if (auto why = untrusted_yaml_problem(yaml_text)) throw ConfigError(origin + ": " + *why);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}:{}: invalid YAML: {}", origin, e.mark.line + 1,
                                  e.mark.column + 1, e.msg));
  }
  try {
    return parse_document(root, origin);
  } catch (const YAML::Exception& e) {  // a shape the typed reads did not expect (found by fuzzing)
    throw ConfigError(fmt::format("{}:{}:{}: unexpected YAML structure: {}", origin,
                                  e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

Config load_config(const std::optional<std::filesystem::path>& path) {
  Config c = default_config();
  std::string origin = "(embedded default)";
  if (path) {
    origin = path->string();
    std::ifstream in(*path);
    if (!in) throw ConfigError(fmt::format("{}: cannot open config file", origin));
    std::stringstream ss;
    ss << in.rdbuf();
    c = parse_config(ss.str(), origin);
  }
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v && *v ? std::optional<std::string>(v) : std::nullopt;
  };
  if (auto v = env("OUTPOST_LISTEN")) c.listen = *v;
  if (auto v = env("OUTPOST_DATA_DIR")) c.data_dir = *v;
  if (auto v = env("OUTPOST_LOG_FORMAT")) {
    auto f = parse_log_format(*v);
    if (!f) bad(origin + " + environment", "OUTPOST_LOG_FORMAT", "must be text or json");
    c.log.format = *f;
  }
  if (auto v = env("OUTPOST_LOG_LEVEL")) c.log.level = *v;
  if (c.cluster.enabled() && c.cluster.advertise.empty()) {
    if (auto v = env("OUTPOST_ADVERTISE"))
      c.cluster.advertise = *v;
    else if (auto ip = env("POD_IP"))
      c.cluster.advertise =
          fmt::format("http://{}:{}", ip->find(':') == std::string::npos ? *ip : "[" + *ip + "]",
                      parse_listen(c.listen).port);
  }
  if (c.cluster.enabled() && c.cluster.advertise.empty())
    bad(origin + " + environment", "cluster.advertise",
        "is needed with peers (or set OUTPOST_ADVERTISE, or POD_IP as Kubernetes does)");
  validate(c, origin + " + environment");
  return c;
}

std::string_view auth_group_name(AuthGroup g) {
  switch (g) {
    case AuthGroup::registry:
      return "registry";
    case AuthGroup::git:
      return "git";
    case AuthGroup::status:
      return "status";
    case AuthGroup::admin:
      return "admin";
    case AuthGroup::webhook:
      return "webhook";
    case AuthGroup::peer:
      return "peer";
  }
  return "?";
}

std::optional<AuthGroup> parse_auth_group(std::string_view s) {
  for (auto g :
       {AuthGroup::registry, AuthGroup::git, AuthGroup::status, AuthGroup::admin, AuthGroup::peer})
    if (auth_group_name(g) == s) return g;
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view s) {
  if (s == "text") return LogFormat::text;
  if (s == "json") return LogFormat::json;
  return std::nullopt;
}

ListenAddress parse_listen(const std::string& listen) {
  std::string host;
  std::string_view port;
  if (listen.starts_with('[')) {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      throw ConfigError(fmt::format("listen: '{}' must be host:port or [v6]:port", listen));
    host = listen.substr(1, close - 1);
    port = std::string_view(listen).substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos)
      throw ConfigError(fmt::format("listen: '{}' must be host:port", listen));
    host = listen.substr(0, colon);
    port = std::string_view(listen).substr(colon + 1);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535)
    throw ConfigError(fmt::format("listen: '{}' has no valid port", listen));
  if (host.empty()) host = "0.0.0.0";
  return {host, static_cast<unsigned short>(p)};
}

}  // namespace outpost
