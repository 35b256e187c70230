// The config section auth: tokens, htpasswd users and their groups.
#include <fmt/format.h>

#include <set>
#include <sstream>

#include "http/config.hpp"

namespace outpost::config {
namespace {

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

}  // namespace

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

}  // namespace outpost::config
