#include "core/config.hpp"

#include "core/config_keys.hpp"
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

using config::bad;
using config::Key;
using config::KeyTable;
using config::read_keys;
using config::read_secret_file;
using config::Section;

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
      config::section_key("registry", &C::registry, config::registry_keys),
      config::section_key("git", &C::git, config::git_keys),
      config::section_key("helm", &C::helm, config::helm_keys),
      config::section_key("storage", &C::storage, storage_keys),
      config::section_key("bundle", &C::bundle, bundle_keys),
      config::section_key("auth", &C::auth, config::auth_keys),
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
