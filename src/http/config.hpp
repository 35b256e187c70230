#pragma once
// The server and auth sections of the config (server.*, auth.*), and the listen address.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include "core/config_section.hpp"
#include "core/duration.hpp"

namespace outpost {

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

// Host and port of a "host:port" / "[v6]:port" listen address. Throws ConfigError.
struct ListenAddress {
  std::string host;
  unsigned short port;
};
ListenAddress parse_listen(const std::string& listen);

namespace config {
// The `server` section's key table (the one place its keys are listed).
const KeyTable<ServerConfig>& server_keys();
// The `auth` section's key table (the one place its keys are listed).
const KeyTable<AuthConfig>& auth_keys();
}  // namespace config

}  // namespace outpost
