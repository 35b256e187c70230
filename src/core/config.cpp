#include "core/config.hpp"

#include "core/text.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace outpost {
namespace {

[[noreturn]] void bad(const std::string& origin, const std::string& key, const std::string& what) {
  throw ConfigError(fmt::format("{}: {}: {}", origin, key, what));
}

// Walks one YAML mapping, refusing keys the schema does not know (typos are errors, not no-ops).
class Section {
 public:
  Section(const YAML::Node& node, std::string path, const std::string& origin,
          std::set<std::string> known)
      : node_(node), path_(std::move(path)), origin_(origin) {
    if (!node_.IsMap()) bad(origin_, path_.empty() ? "(top level)" : path_, "must be a mapping");
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      auto k = it->first.as<std::string>();
      if (!known.contains(k)) bad(origin_, key(k), "unknown key");
    }
  }
  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  bool has(const std::string& k) const { return node_[k] && !node_[k].IsNull(); }
  YAML::Node node(const std::string& k) const { return node_[k]; }

  void str(const std::string& k, std::string& out) const {
    if (!has(k)) return;
    if (!node_[k].IsScalar()) bad(origin_, key(k), "must be a string");
    out = node_[k].as<std::string>();
  }
  void boolean(const std::string& k, bool& out) const {
    if (!has(k)) return;
    try {
      out = node_[k].as<bool>();
    } catch (const YAML::Exception&) {
      bad(origin_, key(k), "must be true or false");
    }
  }
  void duration(const std::string& k, Millis& out) const {
    if (!has(k)) return;
    std::string s;
    str(k, s);
    auto d = parse_duration(s);
    if (!d) bad(origin_, key(k), d.error().message);
    out = *d;
  }
  template <class Int>
  void integer(const std::string& k, Int& out, Int min) const {
    if (!has(k)) return;
    std::string s;
    str(k, s);
    Int v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < min)
      bad(origin_, key(k), fmt::format("must be an integer >= {}", min));
    out = v;
  }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& origin_;
};

std::string read_secret_file(const std::string& origin, const std::string& key,
                             const std::string& path) {
  std::ifstream in(path);
  if (!in) bad(origin, key, fmt::format("cannot read '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

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

// password_file / password_env of an upstream entry.
std::string read_password(const Section& u, const std::string& origin) {
  std::string file, env;
  u.str("password_file", file);
  u.str("password_env", env);
  if (!file.empty() && !env.empty())
    bad(origin, u.key("password_env"), "give password_file or password_env, not both");
  if (!file.empty()) return read_secret_file(origin, u.key("password_file"), file);
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (!v)
      bad(origin, u.key("password_env"), fmt::format("environment variable {} is not set", env));
    return v;
  }
  return {};
}

void parse_registry(const Section& top, const std::string& origin, RegistryConfig& reg) {
  Section s(top.node("registry"), "registry", origin,
            {"default_upstream", "tag_ttl", "upstream_timeout", "stall_timeout",
             "breaker_min_backoff", "breaker_max_backoff", "upstreams"});
  s.str("default_upstream", reg.default_upstream);
  s.duration("tag_ttl", reg.tag_ttl);
  s.duration("upstream_timeout", reg.upstream_timeout);
  s.duration("stall_timeout", reg.stall_timeout);
  s.duration("breaker_min_backoff", reg.breaker_min_backoff);
  s.duration("breaker_max_backoff", reg.breaker_max_backoff);
  if (s.has("upstreams")) {
    auto list = s.node("upstreams");
    if (!list.IsSequence()) bad(origin, "registry.upstreams", "must be a list");
    reg.upstreams.clear();
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      std::string path = fmt::format("registry.upstreams[{}]", i);
      Section u(list[i], path, origin,
                {"name", "url", "username", "password_file", "password_env", "insecure"});
      RegistryUpstreamConfig up;
      u.str("name", up.name);
      u.str("url", up.url);
      u.str("username", up.username);
      u.boolean("insecure", up.insecure);
      if (up.name.empty()) bad(origin, u.key("name"), "is required");
      if (up.url.empty()) bad(origin, u.key("url"), "is required");
      if (up.name.find('/') != std::string::npos || up.name.starts_with('-'))
        bad(origin, u.key("name"), "must be a registry host name like ghcr.io (no '/')");
      if (!names.insert(up.name).second) bad(origin, u.key("name"), "duplicate upstream name");
      check_url(origin, u.key("url"), up.url, up.insecure);
      while (up.url.ends_with('/')) up.url.pop_back();
      up.password = read_password(u, origin);
      reg.upstreams.push_back(std::move(up));
    }
  }
}

std::vector<HostUpstreamConfig> parse_host_upstreams(const Section& s, const std::string& what,
                                                     const std::string& origin);

std::vector<AuthGroup> parse_groups(const YAML::Node& list, const std::string& key,
                                    const std::string& origin) {
  if (!list.IsSequence())
    bad(origin, key, "must be a list of groups (registry, git, status, admin)");
  std::vector<AuthGroup> out;
  for (const auto& g : list) {
    auto v = g.as<std::string>();
    auto group = parse_auth_group(v);
    if (!group)
      bad(origin, key, fmt::format("unknown group '{}' (registry, git, status, admin)", v));
    out.push_back(*group);
  }
  return out;
}

void parse_auth(const Section& top, const std::string& origin, AuthConfig& auth) {
  Section s(top.node("auth"), "auth", origin,
            {"require", "admin_from_loopback", "tokens", "htpasswd_file", "users"});
  if (s.has("require")) auth.require = parse_groups(s.node("require"), "auth.require", origin);
  s.boolean("admin_from_loopback", auth.admin_from_loopback);
  if (s.has("tokens")) {
    auto list = s.node("tokens");
    if (!list.IsSequence()) bad(origin, "auth.tokens", "must be a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      Section t(list[i], fmt::format("auth.tokens[{}]", i), origin,
                {"name", "token_file", "token_env", "groups"});
      AuthConfig::Token tok;
      t.str("name", tok.name);
      std::string file, env;
      t.str("token_file", file);
      t.str("token_env", env);
      if (file.empty() == env.empty())
        bad(origin, t.key("token_file"), "give token_file or token_env (one of them)");
      if (!file.empty()) tok.value = read_secret_file(origin, t.key("token_file"), file);
      if (!env.empty()) {
        const char* v = std::getenv(env.c_str());
        if (!v)
          bad(origin, t.key("token_env"), fmt::format("environment variable {} is not set", env));
        tok.value = v;
      }
      if (tok.value.size() < 16)
        bad(origin, t.key("token_file"), "tokens must be at least 16 characters");
      if (!t.has("groups")) bad(origin, t.key("groups"), "is required");
      tok.groups = parse_groups(t.node("groups"), t.key("groups"), origin);
      if (tok.name.empty()) tok.name = fmt::format("token{}", i);
      auth.tokens.push_back(std::move(tok));
    }
  }
  std::string htpasswd;
  s.str("htpasswd_file", htpasswd);
  if (!htpasswd.empty()) {
    std::istringstream in(read_secret_file(origin, "auth.htpasswd_file", htpasswd));
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
        bad(origin, "auth.htpasswd_file",
            fmt::format("line {}: expected user:hash with a bcrypt or SHA-crypt hash (htpasswd -B)",
                        n));
      auth.htpasswd[line.substr(0, colon)] = hash;
    }
  }
  if (s.has("users")) {
    auto list = s.node("users");
    if (!list.IsSequence()) bad(origin, "auth.users", "must be a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      Section u(list[i], fmt::format("auth.users[{}]", i), origin, {"name", "groups"});
      std::string name;
      u.str("name", name);
      if (!auth.htpasswd.contains(name))
        bad(origin, u.key("name"), fmt::format("user '{}' is not in auth.htpasswd_file", name));
      auth.user_groups[name] = parse_groups(u.node("groups"), u.key("groups"), origin);
    }
  }
}

void parse_git(const Section& top, const std::string& origin, GitConfig& git) {
  Section s(top.node("git"), "git", origin,
            {"sync_interval", "request_refresh_budget", "sync_timeout", "probe_timeout",
             "stall_timeout", "breaker_min_backoff", "breaker_max_backoff", "max_parallel_syncs",
             "max_upload_packs", "max_request_bytes", "public_url", "argocd_webhook",
             "webhook_secret_file", "upstreams", "gating"});
  s.duration("sync_interval", git.sync_interval);
  s.duration("request_refresh_budget", git.request_refresh_budget);
  s.duration("sync_timeout", git.sync_timeout);
  s.duration("probe_timeout", git.probe_timeout);
  s.duration("stall_timeout", git.stall_timeout);
  s.duration("breaker_min_backoff", git.breaker_min_backoff);
  s.duration("breaker_max_backoff", git.breaker_max_backoff);
  s.integer<int>("max_parallel_syncs", git.max_parallel_syncs, 1);
  s.integer<int>("max_upload_packs", git.max_upload_packs, 1);
  s.integer<std::size_t>("max_request_bytes", git.max_request_bytes, 65536);
  s.str("public_url", git.public_url);
  s.str("argocd_webhook", git.argocd_webhook);
  std::string secret_file;
  s.str("webhook_secret_file", secret_file);
  if (!secret_file.empty())
    git.webhook_secret = read_secret_file(origin, "git.webhook_secret_file", secret_file);
  while (git.public_url.ends_with('/')) git.public_url.pop_back();
  if (s.has("gating")) {
    auto list = s.node("gating");
    if (!list.IsSequence()) bad(origin, "git.gating", "must be a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      Section g(list[i], fmt::format("git.gating[{}]", i), origin,
                {"repo", "mode", "paths", "release_file"});
      GitGateConfig gate;
      g.str("repo", gate.repo);
      std::string mode;
      g.str("mode", mode);
      g.str("release_file", gate.release_file);
      if (gate.repo.empty() || gate.repo.find('/') == std::string::npos)
        bad(origin, g.key("repo"), "must be <host>/<path>, e.g. github.com/org/manifests");
      while (gate.repo.ends_with(".git")) gate.repo.resize(gate.repo.size() - 4);
      if (mode == "images")
        gate.mode = GateMode::images;
      else if (mode == "bundle")
        gate.mode = GateMode::bundle;
      else
        bad(origin, g.key("mode"), "must be images or bundle");
      if (g.has("paths")) {
        auto p = g.node("paths");
        if (!p.IsSequence()) bad(origin, g.key("paths"), "must be a list of directories");
        for (auto e : p) gate.paths.push_back(e.as<std::string>());
      }
      if (gate.paths.empty()) gate.paths.push_back(".");
      git.gating.push_back(std::move(gate));
    }
  }
  if (s.has("upstreams")) git.upstreams = parse_host_upstreams(s, "git", origin);
}

void parse_helm(const Section& top, const std::string& origin, HelmConfig& helm) {
  Section s(top.node("helm"), "helm", origin,
            {"refresh_interval", "request_refresh_budget", "fetch_timeout", "stall_timeout",
             "breaker_min_backoff", "breaker_max_backoff", "max_index_bytes", "max_chart_bytes",
             "upstreams"});
  s.duration("refresh_interval", helm.refresh_interval);
  s.duration("request_refresh_budget", helm.request_refresh_budget);
  s.duration("fetch_timeout", helm.fetch_timeout);
  s.duration("stall_timeout", helm.stall_timeout);
  s.duration("breaker_min_backoff", helm.breaker_min_backoff);
  s.duration("breaker_max_backoff", helm.breaker_max_backoff);
  s.integer<std::size_t>("max_index_bytes", helm.max_index_bytes, 1024);
  s.integer<std::size_t>("max_chart_bytes", helm.max_chart_bytes, 1024);
  if (s.has("upstreams")) helm.upstreams = parse_host_upstreams(s, "helm", origin);
}

std::vector<HostUpstreamConfig> parse_host_upstreams(const Section& s, const std::string& what,
                                                     const std::string& origin) {
  auto list = s.node("upstreams");
  if (!list.IsSequence()) bad(origin, what + ".upstreams", "must be a list");
  std::vector<HostUpstreamConfig> out;
  std::set<std::string> hosts;
  for (std::size_t i = 0; i < list.size(); ++i) {
    Section u(list[i], fmt::format("{}.upstreams[{}]", what, i), origin,
              {"host", "url", "username", "password_file", "password_env", "insecure"});
    HostUpstreamConfig up;
    u.str("host", up.host);
    u.str("url", up.url);
    u.str("username", up.username);
    u.boolean("insecure", up.insecure);
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
    up.password = read_password(u, origin);
    out.push_back(std::move(up));
  }
  return out;
}

void validate(const Config& c, const std::string& origin) {
  parse_listen(c.listen);
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
  if (!levels.contains(c.log.level))
    bad(origin, "log.level", "must be trace|debug|info|warn|error");
  if (!c.registry.default_upstream.empty() && !c.registry.find(c.registry.default_upstream))
    bad(origin, "registry.default_upstream",
        fmt::format("'{}' is not one of registry.upstreams", c.registry.default_upstream));
  if (c.registry.breaker_min_backoff > c.registry.breaker_max_backoff)
    bad(origin, "registry.breaker_min_backoff", "is larger than breaker_max_backoff");
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
  c.git.upstreams = {
      {"github.com", "https://github.com", "", "", false},
      {"gitlab.com", "https://gitlab.com", "", "", false},
  };
  c.registry.upstreams = {
      {"docker.io", "https://registry-1.docker.io", "", "", false},
      {"ghcr.io", "https://ghcr.io", "", "", false},
      {"quay.io", "https://quay.io", "", "", false},
      {"registry.k8s.io", "https://registry.k8s.io", "", "", false},
  };
  return c;
}

namespace {

void parse_log(const Section& top, const std::string& origin, Config& c) {
  Section s(top.node("log"), "log", origin, {"format", "level"});
  std::string format;
  s.str("format", format);
  if (!format.empty()) {
    auto f = parse_log_format(format);
    if (!f) bad(origin, "log.format", "must be text or json");
    c.log.format = *f;
  }
  s.str("level", c.log.level);
}

void parse_server(const Section& top, const std::string& origin, Config& c) {
  Section s(top.node("server"), "server", origin,
            {"max_header_bytes", "max_body_bytes", "read_timeout", "write_timeout",
             "shutdown_grace", "worker_threads", "local_threads", "tls_cert_file", "tls_key_file"});
  s.str("tls_cert_file", c.server.tls_cert_file);
  s.str("tls_key_file", c.server.tls_key_file);
  if (c.server.tls_cert_file.empty() != c.server.tls_key_file.empty())
    bad(origin, "server.tls_cert_file", "give both tls_cert_file and tls_key_file");
  for (const auto* f : {&c.server.tls_cert_file, &c.server.tls_key_file})
    if (!f->empty()) (void)read_secret_file(origin, "server.tls_cert_file", *f);
  s.integer<std::size_t>("max_header_bytes", c.server.max_header_bytes, 1024);
  s.integer<std::size_t>("max_body_bytes", c.server.max_body_bytes, 1024);
  s.duration("read_timeout", c.server.read_timeout);
  s.duration("write_timeout", c.server.write_timeout);
  s.duration("shutdown_grace", c.server.shutdown_grace);
  s.integer<int>("worker_threads", c.server.worker_threads, 1);
  s.integer<int>("local_threads", c.server.local_threads, 1);
}

void parse_bundle(const Section& top, const std::string& origin, Config& c) {
  Section s(top.node("bundle"), "bundle", origin,
            {"allowed_sources", "download_attempts", "stall_timeout", "trust_keys"});
  if (s.has("trust_keys")) {
    auto list = s.node("trust_keys");
    if (!list.IsSequence())
      bad(origin, "bundle.trust_keys", "must be a list of PEM public key files");
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto key = fmt::format("bundle.trust_keys[{}]", i);
      auto text = read_secret_file(origin, key, list[i].as<std::string>());
      if (text.find("BEGIN PUBLIC KEY") == std::string::npos)
        bad(origin, key, "is not a PEM public key");
      c.bundle.trust_keys.push_back(text);
    }
  }
  s.integer<int>("download_attempts", c.bundle.download_attempts, 1);
  s.duration("stall_timeout", c.bundle.stall_timeout);
  if (s.has("allowed_sources")) {
    auto list = s.node("allowed_sources");
    if (!list.IsSequence())
      bad(origin, "bundle.allowed_sources", "must be a list of URL or path prefixes");
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto v = list[i].as<std::string>();
      if (!v.starts_with("http://") && !v.starts_with("https://") && !v.starts_with("oci://") &&
          !v.starts_with("/"))
        bad(origin, fmt::format("bundle.allowed_sources[{}]", i),
            "must be an http(s) URL, an oci:// reference or an absolute path prefix");
      c.bundle.allowed_sources.push_back(v);
    }
  }
}

void parse_storage(const Section& top, const std::string& origin, Config& c) {
  Section s(top.node("storage"), "storage", origin,
            {"keep_releases", "gc_high_watermark", "gc_low_watermark", "gc_interval"});
  s.integer<int>("keep_releases", c.storage.keep_releases, 1);
  s.duration("gc_interval", c.storage.gc_interval);
  for (auto [key, out] : {std::pair{"gc_high_watermark", &c.storage.gc_high_watermark},
                          std::pair{"gc_low_watermark", &c.storage.gc_low_watermark}}) {
    if (!s.has(key)) continue;
    std::string v;
    s.str(key, v);
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || d <= 0 || d >= 1)
      bad(origin, s.key(key), "must be a fraction between 0 and 1, e.g. 0.9");
    *out = d;
  }
  if (c.storage.gc_low_watermark >= c.storage.gc_high_watermark)
    bad(origin, "storage.gc_low_watermark", "must be below gc_high_watermark");
}

Config parse_document(const YAML::Node& root, const std::string& origin) {
  Config c = default_config();
  if (root.IsNull()) return c;
  Section top(root, "", origin,
              {"listen", "data_dir", "log", "server", "registry", "git", "helm", "storage",
               "bundle", "auth"});
  top.str("listen", c.listen);
  std::string dir;
  top.str("data_dir", dir);
  if (!dir.empty()) c.data_dir = dir;
  if (top.has("log")) parse_log(top, origin, c);
  if (top.has("server")) parse_server(top, origin, c);
  if (top.has("registry")) parse_registry(top, origin, c.registry);
  if (top.has("git")) parse_git(top, origin, c.git);
  if (top.has("helm")) parse_helm(top, origin, c.helm);
  if (top.has("bundle")) parse_bundle(top, origin, c);
  if (top.has("auth")) parse_auth(top, origin, c.auth);
  if (top.has("storage")) parse_storage(top, origin, c);
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
  }
  return "?";
}

std::optional<AuthGroup> parse_auth_group(std::string_view s) {
  for (auto g : {AuthGroup::registry, AuthGroup::git, AuthGroup::status, AuthGroup::admin})
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
