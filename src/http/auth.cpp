#include "http/auth.hpp"

#include <crypt.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/digest.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"

namespace outpost::http {
namespace {

bool has(const std::vector<Group>& v, Group g) {
  return std::find(v.begin(), v.end(), g) != v.end();
}

Response refusal(Group g, int status, const std::string& message) {
  Response r;
  if (g == Group::registry) {  // an OCI error body, as registry clients expect
    r = Response::json(
        status, fmt::format(R"({{"errors":[{{"code":"{}","message":"{}"}}]}})",
                            status == 401 ? "UNAUTHORIZED" : "DENIED", json_escape(message)));
  } else if (g == Group::git) {
    r = Response::text(status, message + "\n");
  } else {
    r = Response::json(status, fmt::format(R"({{"error":"{}"}})", json_escape(message)));
  }
  if (status == 401) r.headers.set("WWW-Authenticate", R"(Basic realm="outpost")");
  return r;
}

}  // namespace

bool is_loopback_peer(std::string_view remote) {
  auto colon = remote.rfind(':');
  auto addr = colon == std::string_view::npos ? remote : remote.substr(0, colon);
  if (addr.starts_with('[') && addr.ends_with(']')) addr = addr.substr(1, addr.size() - 2);
  if (addr.starts_with("::ffff:")) addr.remove_prefix(7);
  return addr == "127.0.0.1" || addr == "::1";
}

Authorizer::Authorizer(const AuthConfig& cfg, std::string webhook_secret, bool cluster_enabled)
    : cfg_(cfg), webhook_secret_(std::move(webhook_secret)), cluster_enabled_(cluster_enabled) {}

void Authorizer::vet_peer_headers(Request& req) {
  if (!req.headers.has_prefixed(kPeerHeaderPrefix)) return;
  bool presented = false;
  if (cluster_enabled_) {
    auto groups = credential(req, presented);
    if (groups && has(*groups, Group::peer)) return;
  }
  req.headers.erase_prefixed(kPeerHeaderPrefix);
  spdlog::warn("auth: {} {} from {}: peer headers ignored ({})", req.method, req.path, req.remote,
               !cluster_enabled_ ? "no cluster is configured"
               : presented       ? "the credential is not in group peer"
                                 : "no peer credential");
}

bool Authorizer::verify_password(const std::string& user, const std::string& password) {
  auto it = cfg_.htpasswd.find(user);
  if (it == cfg_.htpasswd.end()) return false;
  const auto key = std::string(sha256_of(user + ":" + password + ":" + it->second).hex());
  const auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(mu_);
    if (auto v = verified_.find(key);
        v != verified_.end() && now - v->second < std::chrono::minutes(5))
      return true;
  }
  crypt_data data{};
  const char* out = ::crypt_r(password.c_str(), it->second.c_str(), &data);
  if (!out || out[0] == '*' || !constant_time_equal(out, it->second)) return false;
  MutexLock lock(mu_);
  if (verified_.size() > 1000) verified_.clear();
  verified_[key] = now;
  return true;
}

std::optional<std::vector<Group>> Authorizer::credential(const Request& req, bool& presented) {
  auto h = req.headers.get("Authorization");
  presented = h.has_value();
  if (!h) return std::nullopt;
  std::string_view v = *h;
  if (v.starts_with("Bearer ")) {
    v.remove_prefix(7);
    for (const auto& t : cfg_.tokens)
      if (constant_time_equal(v, t.value)) return t.groups;
    return std::nullopt;
  }
  if (v.starts_with("Basic ")) {
    auto decoded = base64_decode(v.substr(6));
    auto colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    auto user = decoded.substr(0, colon);
    // a token may also come as the password of any user name (git and containerd send Basic)
    auto password = decoded.substr(colon + 1);
    for (const auto& t : cfg_.tokens)
      if (constant_time_equal(password, t.value)) return t.groups;
    if (!verify_password(user, password)) return std::nullopt;
    if (auto g = cfg_.user_groups.find(user); g != cfg_.user_groups.end()) return g->second;
    return std::vector<Group>{Group::registry, Group::git, Group::status};
  }
  return std::nullopt;
}

std::optional<Response> Authorizer::check(Request& req, Group g) {
  vet_peer_headers(req);
  const bool loopback = is_loopback_peer(req.remote);
  if (g == Group::webhook) {
    if (webhook_secret_.empty() && !loopback)
      return refusal(g, 403, "webhooks from the network need git.webhook_secret");
    return std::nullopt;  // the handler checks the HMAC / token
  }
  const bool required = has(cfg_.require, g) || g == Group::admin;
  if (!required) return std::nullopt;
  if (g == Group::admin && loopback && cfg_.admin_from_loopback) return std::nullopt;
  bool presented = false;
  auto groups = credential(req, presented);
  if (!groups) {
    if (g == Group::admin && cfg_.tokens.empty() && cfg_.htpasswd.empty())
      return refusal(g, 403,
                     "the admin API is closed to the network: configure auth.tokens (or "
                     "auth.htpasswd_file) and send a credential");
    spdlog::warn("auth: {} {} from {}: {}", req.method, req.path, req.remote,
                 presented ? "credential refused" : "no credential");
    return refusal(g, 401,
                   presented ? "credential refused"
                             : fmt::format("{} needs a credential", auth_group_name(g)));
  }
  // A replica of this cluster may use what replicas ask each other for: content, Git, status and
  // the release API (fan-out).
  if (!has(*groups, g) && !has(*groups, Group::peer))
    return refusal(g, 403, fmt::format("this credential may not use {}", auth_group_name(g)));
  return std::nullopt;
}

}  // namespace outpost::http
