#pragma once
// The one typed configuration of Outpost, parsed in one place (YAML file, then environment
// overrides). Components take `const Config&` or one of the sub-structs; nothing else reads
// the environment.
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/duration.hpp"

namespace outpost {

// Thrown only at start-up; the message names the key and the problem.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A mirror of an upstream: a regional Outpost (or another cache of the same origin) tried before
// the origin. Its credentials are its own; the origin's never go to a mirror.
struct MirrorConfig {
  std::string url;  // scheme://host[:port][/prefix]
  std::string username;
  std::string password;   // from password_file or password_env; never logged
  bool insecure = false;  // allow http:// and skip TLS verification
};

struct RegistryUpstreamConfig {
  std::string name;  // what clients call the registry: ?ns=<name>, /v2/<name>/…
  std::string url;   // scheme://host[:port] that Outpost dials
  std::string username;
  std::string password;   // from password_file or password_env; never logged
  bool insecure = false;  // allow http:// and skip TLS verification
  // Tried in order before the origin; requests carry ?ns=<name> so an Outpost hub (or any
  // registry that honours ns) routes them to the same upstream.
  std::vector<MirrorConfig> mirrors;
};

// When a cached tag older than tag_ttl is checked upstream. background: the cached digest is
// served at once and a HEAD upstream runs after (single-flight per tag); a tag moved upstream is
// served from the next pull on. inline: the pull waits for the HEAD (and for the new manifest when
// the tag moved), which costs a round trip upstream on every due pull.
enum class Revalidate { background, inline_ };

struct RegistryConfig {
  std::string default_upstream = "docker.io";
  Millis tag_ttl = std::chrono::minutes(5);
  Revalidate revalidate = Revalidate::background;
  // Bound on any metadata call upstream (connect + answer). A tag revalidation that takes longer
  // serves the cached digest and opens the circuit breaker.
  Millis upstream_timeout = std::chrono::seconds(5);
  // A blob download with no bytes for this long is treated as a dropped connection and resumed.
  Millis stall_timeout = std::chrono::seconds(30);
  Millis breaker_min_backoff = std::chrono::seconds(1);
  Millis breaker_max_backoff = std::chrono::seconds(60);
  // A cached tag that upstream answers 404 for is still served (counted, listed on the status
  // page), so a node can restart a pod whose tag was deleted upstream. False: 404, as upstream.
  bool keep_deleted_tags = true;
  std::vector<RegistryUpstreamConfig> upstreams;

  const RegistryUpstreamConfig* find(std::string_view name) const;
};

struct ServerConfig {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  Millis read_timeout = std::chrono::seconds(30);   // per request head/body and idle keep-alive
  Millis write_timeout = std::chrono::seconds(60);  // a client that takes no bytes for this long
  Millis shutdown_grace = std::chrono::seconds(10);
  int worker_threads = 16;  // handlers that may wait on an upstream run here
  int local_threads = 8;    // handlers (and first tiers) that need only disk and database
  int api_threads = 2;      // inventory and status reads (their own bound: pulls never wait)
  // HTTPS: a PEM certificate chain and its key. Empty: plain HTTP (terminate TLS elsewhere).
  std::string tls_cert_file, tls_key_file;
};

// A Git or Helm upstream, named by host: /git/<host>/<path>, /helm/<host>/<path>.
struct HostUpstreamConfig {
  std::string host;  // the first path component after /git/ or /helm/
  std::string url;   // scheme://host[:port][/prefix] that <path> is appended to
  std::string username;
  std::string password;   // from password_file or password_env; never logged, never in argv
  bool insecure = false;  // allow http:// and skip TLS verification
  // Tried in order before the origin: <mirror url>/<path> is the same repository or chart
  // repository (an Outpost hub: http://hub:8080/git/<host>, http://hub:8080/helm/<host>).
  std::vector<MirrorConfig> mirrors;
};

// Ref gating for one mirrored repository: a new upstream commit is advertised only once what it
// needs is local. mode "images": the images its manifests under `paths` reference, pulled through
// the registry mirror. mode "bundle": the release named in `release_file` at that commit
// (source, name, version), imported.
//
// What a gated commit needs before it is advertised: every image its manifests reference pulled
// (images), or the release its release file names imported (bundle).
enum class GateMode { images, bundle };

struct GitGateConfig {
  std::string repo;  // <host>/<path>
  GateMode mode = GateMode::images;
  std::vector<std::string> paths;
  std::string release_file = ".outpost/release.yaml";
};

// The Git pack cache (git/pack_cache.hpp): identical fetches share one upload-pack run, and its
// response is kept for the next ones.
struct PackCacheConfig {
  bool enabled = true;                   // false: runs are still shared, nothing is kept
  std::uint64_t max_bytes = 2ull << 30;  // kept responses, least recently used evicted first
  Millis ttl = std::chrono::hours(1);    // a kept response is dropped after this long
  // A response is kept once its request has been seen this often (or when clients shared its
  // run): 1 keeps every response, 2 (default) only what is asked again.
  int min_requests = 2;
};

struct GitConfig {
  Millis sync_interval = std::chrono::seconds(60);
  // How long a ref discovery may wait for a refresh of a stale mirror (upstream healthy only).
  Millis request_refresh_budget = std::chrono::seconds(2);
  Millis sync_timeout = std::chrono::minutes(30);  // bound on one git fetch
  // A fetch that receives under 1 KB/s for this long is abandoned (a dead or black-holed link).
  Millis stall_timeout = std::chrono::seconds(60);
  // Before a first clone, a quick request checks that the host answers at all (fail fast offline).
  Millis probe_timeout = std::chrono::seconds(5);
  Millis breaker_min_backoff = std::chrono::seconds(5);
  Millis breaker_max_backoff = std::chrono::minutes(5);
  int max_parallel_syncs = 4;
  int max_upload_packs = 16;                 // concurrent git upload-pack processes
  std::size_t max_request_bytes = 64 << 20;  // upload-pack request body, after gzip
  std::string public_url;      // how clients reach Outpost (named in Argo CD notifications)
  std::string argocd_webhook;  // POST <argocd>/api/webhook after a sync moved refs ("" = off)
  std::string webhook_secret;  // shared secret for incoming webhooks and the Argo CD notification
  std::vector<HostUpstreamConfig> upstreams;
  std::vector<GitGateConfig> gating;
  PackCacheConfig pack_cache;

  const HostUpstreamConfig* find(std::string_view host) const;
};

// Classic Helm chart repositories (index.yaml + chart archives), mirrored at /helm/<host>/<path>/.
struct HelmConfig {
  // A cached index.yaml is refreshed in the background this often, and on a request within
  // request_refresh_budget when the upstream is healthy; otherwise the last good copy is served.
  Millis refresh_interval = std::chrono::minutes(5);
  Millis request_refresh_budget = std::chrono::seconds(2);
  Millis fetch_timeout = std::chrono::seconds(60);  // bound on one index or chart download
  // A chart download with no byte for this long is retried (RetryBudget of this stall timeout).
  Millis stall_timeout = std::chrono::seconds(10);
  Millis breaker_min_backoff = std::chrono::seconds(5);
  Millis breaker_max_backoff = std::chrono::minutes(5);
  std::size_t max_index_bytes = 64 << 20;
  std::size_t max_chart_bytes = 64 << 20;
  std::vector<HostUpstreamConfig> upstreams;

  const HostUpstreamConfig* find(std::string_view host) const;
};

struct BundleConfig {
  // Sources the server may load bundles from (prefixes of http(s) URLs or absolute paths). Empty:
  // any http(s) URL, no local paths.
  std::vector<std::string> allowed_sources;
  int download_attempts = 20;
  // ed25519 public keys (PEM text, read from trust_keys files). When any is configured, every
  // import must carry a valid outpost-bundle.json.sig.
  std::vector<std::string> trust_keys;
  Millis stall_timeout = std::chrono::seconds(30);
};

// Replicas of one site that fill from each other (docs/cluster.md): each digest has an owner among
// the live replicas (rendezvous hashing); a replica that misses asks the owner, which fetches from
// the upstream sources once. Off unless peers or peers_dns is given.
struct ClusterConfig {
  // How peers reach this replica, http(s)://host:port. Default: OUTPOST_ADVERTISE, or
  // http://$POD_IP:<listen port>.
  std::string advertise;
  std::vector<std::string> peers;  // replica URLs (this replica's own is skipped)
  std::string peers_dns;           // host:port whose A/AAAA records are the replicas
  Millis dns_interval = std::chrono::seconds(5);
  Millis peer_timeout = std::chrono::seconds(2);  // connect and metadata bound for peer calls
  Millis breaker_min_backoff = std::chrono::seconds(1);
  Millis breaker_max_backoff = std::chrono::seconds(30);

  bool enabled() const { return !peers.empty() || !peers_dns.empty(); }
};

struct StorageConfig {
  int keep_releases = 3;  // newest releases of each bundle name kept pinned
  // Automatic GC: when the data dir's filesystem is fuller than gc_high_watermark, unpinned
  // blobs are evicted (LRU first) until it is at gc_low_watermark.
  double gc_high_watermark = 0.90;
  double gc_low_watermark = 0.80;
  Millis gc_interval = std::chrono::seconds(60);
};

// Who may use what. Each route belongs to one group: registry (/v2/), git (/git/, and /helm/, so
// a repo-server's credential covers both), status (the page, read-only API, /metrics, health),
// admin (API writes: release imports) and webhook (checked by git.webhook_secret, not by group
// membership). Groups in `require` need a credential that lists them: a bearer token or an
// htpasswd user (bcrypt or SHA-crypt hashes, as `htpasswd -B` writes).
enum class AuthGroup { registry, git, status, admin, webhook, peer };
std::string_view auth_group_name(AuthGroup g);
// "registry" | "git" | "status" | "admin" (the groups a credential can hold).
std::optional<AuthGroup> parse_auth_group(std::string_view s);

struct AuthConfig {
  struct Token {
    std::string name;
    std::string value;  // from token_file or token_env; never logged
    std::vector<AuthGroup> groups;
  };
  std::vector<Token> tokens;
  std::map<std::string, std::string> htpasswd;  // user → crypt(3) hash
  // Groups of each htpasswd user (users not listed: registry, git, status).
  std::map<std::string, std::vector<AuthGroup>> user_groups;
  std::vector<AuthGroup> require = {AuthGroup::admin};
  // Admin requests from a loopback peer (the CLI on the same machine) need no credential.
  bool admin_from_loopback = true;
};

enum class LogFormat { text, json };
// "text" | "json"; nullopt for anything else.
std::optional<LogFormat> parse_log_format(std::string_view s);

struct LogConfig {
  LogFormat format = LogFormat::text;
  std::string level = "info";  // trace | debug | info | warn | error
};

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::filesystem::path data_dir = "./outpost-data";
  LogConfig log;
  ServerConfig server;
  RegistryConfig registry;
  GitConfig git;
  HelmConfig helm;
  StorageConfig storage;
  BundleConfig bundle;
  AuthConfig auth;
  ClusterConfig cluster;
};

// The embedded default: ./outpost-data, 127.0.0.1:8080, docker.io, ghcr.io, quay.io,
// registry.k8s.io.
Config default_config();

// Parses YAML text. `origin` names the source in error messages. Throws ConfigError.
Config parse_config(const std::string& yaml_text, const std::string& origin);

// Every key the config file accepts, as dotted paths ("registry.upstreams[].url"), from the one
// key table the parser reads with (for the reference documentation and its consistency test).
std::vector<std::string> config_key_paths();

// Reads `path` (or the embedded default when empty), then applies environment overrides
// (OUTPOST_LISTEN, OUTPOST_DATA_DIR, OUTPOST_LOG_FORMAT, OUTPOST_LOG_LEVEL). Throws ConfigError.
Config load_config(const std::optional<std::filesystem::path>& path);

// Host and port of a "host:port" / "[v6]:port" listen address. Throws ConfigError.
struct ListenAddress {
  std::string host;
  unsigned short port;
};
ListenAddress parse_listen(const std::string& listen);

}  // namespace outpost
