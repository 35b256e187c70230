#include "config/config.hpp"

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
      config::section_key("server", &C::server, config::server_keys),
      config::section_key("registry", &C::registry, config::registry_keys),
      config::section_key("git", &C::git, config::git_keys),
      config::section_key("helm", &C::helm, config::helm_keys),
      config::section_key("storage", &C::storage, config::storage_keys),
      config::section_key("bundle", &C::bundle, config::bundle_keys),
      config::section_key("auth", &C::auth, config::auth_keys),
      config::section_key("cluster", &C::cluster, config::cluster_keys),
      config::section_key("nodes", &C::nodes, config::nodes_keys),
      config::section_key("metadata", &C::metadata, config::metadata_keys),
      config::section_key("sources", &C::sources, config::sources_keys),
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
  for (std::size_t i = 0; i < c.sources.oci.size(); ++i) {
    const auto& repo = c.sources.oci[i].repository;
    if (!c.registry.find(repo.substr(0, repo.find('/'))))
      bad(origin, fmt::format("sources.oci[{}].repository", i),
          fmt::format("'{}' is not under one of registry.upstreams", repo));
  }
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

}  // namespace outpost
