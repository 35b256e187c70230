#include "git/handlers.hpp"
#include "git/metric_defs.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "core/process.hpp"
#include "git/git_runner.hpp"
#include "git/pack_key.hpp"
#include "git/pkt_line.hpp"
#include "http/gzip.hpp"
#include "http/status.hpp"

namespace outpost::git {
namespace {

http::Response text(int status, const std::string& msg) {
  auto r = http::Response::text(status, msg + "\n");
  r.headers.set("Cache-Control", "no-cache");
  return r;
}

http::Response from_error(const Error& e) {
  return text(http::status_for(e.code), e.message);
}

// An upload-pack process whose stdout is the response body (a request the pack cache does not
// key); its slot is released when it is done.
class UploadPack final : public http::PipeSource {
 public:
  explicit UploadPack(StartedPack p) : p_(std::move(p)) {}
  ~UploadPack() override {
    p_.proc.kill();
    p_.proc.wait();
    if (p_.on_end) p_.on_end();
  }
  int fd() const override { return p_.proc.stdout_fd(); }
  bool finish() override { return p_.proc.wait() == 0; }

 private:
  StartedPack p_;
};

}  // namespace

int requested_protocol(const http::Request& req) {
  auto h = req.headers.get("Git-Protocol");
  return h && h->find("version=2") != std::string_view::npos ? 2 : 0;
}

GitService::GitService(GitCache& cache, const GitConfig& cfg, Metrics& metrics, PackCache* packs)
    : cache_(cache),
      cfg_(cfg),
      adverts_(metrics.counter(metric::git_advertisements_total)),
      runs_(metrics.counter(metric::git_upload_pack_runs_total)),
      slots_(std::make_shared<std::counting_semaphore<4096>>(cfg.max_upload_packs)),
      packs_(packs) {}

std::optional<http::Response> GitService::handle_git(const http::Request& req, http::Reach reach) {
  auto gr = parse_git_path(req.path, cfg_);
  if (!gr) return from_error(gr.error());
  switch (gr->endpoint) {
    case Endpoint::receive_pack:
      return text(403, fmt::format("Outpost is a read-only mirror of {}: push to the upstream "
                                   "repository instead",
                                   gr->repo.key()));
    case Endpoint::info_refs:
      return info_refs(gr->repo, req, reach);
    case Endpoint::upload_pack:
      return upload_pack(gr->repo, req);
  }
  return text(404, "unknown endpoint");
}

std::optional<http::Response> GitService::info_refs(const RepoId& repo, const http::Request& req,
                                                    http::Reach reach) {
  if (req.method != "GET" && req.method != "HEAD") return text(405, "use GET for info/refs");
  auto service = req.query_param("service");
  if (service == "git-receive-pack")
    return text(403, fmt::format("Outpost is a read-only mirror of {}: push to the upstream "
                                 "repository instead",
                                 repo.key()));
  if (service != "git-upload-pack")
    return text(403, "only smart HTTP (service=git-upload-pack) is served; dumb HTTP is not");
  auto m = cache_.prepare(repo, reach);
  if (!m && m.error().code == Errc::needs_upstream) return std::nullopt;
  if (!m) return from_error(m.error());
  int version = requested_protocol(req);
  auto body = (*m)->info_refs_body(version);
  if (!body) return from_error(body.error());
  adverts_.add({{"version", std::to_string(version)}});
  http::Response r;
  r.headers.set("Content-Type", "application/x-git-upload-pack-advertisement");
  r.headers.set("Cache-Control", "no-cache");
  r.body = http::SharedBody{std::move(*body)};
  auto st = (*m)->status();
  if (auto age = cache_.staleness(**m)) {
    r.headers.set("X-Outpost-Stale-Seconds", fmt::format("{:.0f}", *age));
  }
  if (!st.last_error.empty()) r.headers.set("X-Outpost-Sync-Error", st.last_error.substr(0, 200));
  return r;
}

http::Response GitService::upload_pack(const RepoId& repo, const http::Request& req) {
  if (req.method != "POST") return text(405, "use POST for git-upload-pack");
  auto m = cache_.existing(repo);
  if (!m)
    return text(404, fmt::format("{} is not mirrored yet: ask for its refs first", repo.key()));
  std::string_view body = req.body;
  std::string inflated;
  if (auto enc = req.headers.get("Content-Encoding"); enc && *enc != "identity") {
    if (*enc != "gzip" && *enc != "x-gzip") return text(415, "unsupported Content-Encoding");
    auto g = http::gunzip(req.body, cfg_.max_request_bytes);
    if (!g) return from_error(g.error());
    inflated = std::move(*g);
    body = inflated;
  }
  if (auto v = validate_pkt_lines(body); !v)
    return text(400, "malformed upload-pack request: " + v.error().message);
  const int version = requested_protocol(req);
  auto respond = [](http::Response r) {
    r.status = 200;
    r.headers.set("Content-Type", "application/x-git-upload-pack-result");
    r.headers.set("Cache-Control", "no-cache");
    return r;
  };
  auto busy = [](const Error& e) {
    if (e.code != Errc::upstream_unavailable) return from_error(e);
    auto r = text(503, e.message);
    r.headers.set("Retry-After", "5");
    return r;
  };
  // A fetch that ends the negotiation gets a pack: identical ones share a run, and the response
  // is kept (git/pack_cache.hpp), keyed by the mirror's advertised state and the canonical request.
  if (auto canonical = packs_ ? canonical_fetch_request(body, version) : std::nullopt) {
    auto state = m->advertised_state();
    if (!state) return from_error(state.error());
    const std::string key(
        sha256_of(fmt::format("{}\nv{}\n{}\n{}", repo.key(), version, state->str(), *canonical))
            .hex());
    auto served = packs_->serve(key, [&] { return start_upload_pack(m->dir(), body, version); });
    if (!served) return busy(served.error());
    return respond(std::move(*served));
  }
  auto started = start_upload_pack(m->dir(), body, version);
  if (!started) return busy(started.error());
  runs_.add({{"request", "other"}});
  http::Response r;
  r.body = http::PipeBody{std::make_shared<UploadPack>(std::move(*started))};
  return respond(std::move(r));
}

Result<StartedPack> GitService::start_upload_pack(const std::filesystem::path& dir,
                                                  std::string_view request, int version) {
  if (!slots_->try_acquire_for(std::chrono::seconds(30)))
    return fail(Errc::upstream_unavailable, "too many concurrent fetches; retry shortly");
  // The request goes to the child's stdin through a memfd: no pipe to deadlock against its stdout.
  auto env = serving_env();
  if (version == 2) env.push_back("GIT_PROTOCOL=version=2");
  auto p = GitRunner(std::move(env))
               .start({.args = {"upload-pack", "--strict", "--stateless-rpc", dir.string()},
                       .input = std::string(request)});
  if (!p) {
    slots_->release();
    return std::unexpected(p.error());
  }
  return StartedPack{std::move(*p), [slots = slots_] { slots->release(); }};
}

http::Response GitService::handle_webhook(const http::Request& req) {
  if (req.method != "POST") return text(405, "POST a push event");
  if (!cfg_.webhook_secret.empty()) {
    bool ok = false;
    if (auto sig = req.headers.get("X-Hub-Signature-256"))
      ok = constant_time_equal(*sig, "sha256=" + hmac_sha256_hex(cfg_.webhook_secret, req.body));
    else if (auto tok = req.headers.get("X-Gitlab-Token"))
      ok = constant_time_equal(*tok, cfg_.webhook_secret);
    if (!ok) return text(401, "webhook signature missing or wrong");
  }
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return text(400, "webhook body is not JSON");
  std::vector<std::string> urls;
  auto str = [&](const nlohmann::json& o, const char* a, const char* b) {
    if (o.contains(a) && o[a].is_object() && o[a].contains(b) && o[a][b].is_string())
      urls.push_back(o[a][b].get<std::string>());
  };
  str(j, "repository", "clone_url");  // GitHub
  str(j, "repository", "html_url");   // GitHub
  str(j, "project", "git_http_url");  // GitLab
  str(j, "project", "web_url");       // GitLab
  std::optional<RepoId> id;
  if (j.contains("repo") && j["repo"].is_string()) {
    if (auto r = parse_repo_id(j["repo"].get<std::string>(), cfg_)) id = *r;
  }
  for (const auto& url : urls) {
    if (id) break;
    for (const auto& up : cfg_.upstreams) {
      if (url.starts_with(up.url + "/")) {
        if (auto r = parse_repo_id(up.host + "/" + url.substr(up.url.size() + 1), cfg_)) id = *r;
        break;
      }
    }
  }
  if (!id) return text(404, "the payload names no repository mirrored here");
  if (!cache_.push_event(*id)) return text(404, fmt::format("{} is not mirrored here", id->key()));
  spdlog::info("git: webhook queued a sync of {}", id->key());
  return http::Response::json(202, nlohmann::json({{"queued", id->key()}}).dump());
}

http::Response GitService::handle_peer_sync(const http::Request& req) {
  if (req.method != "POST") return text(405, "POST {\"repo\": \"<host>/<path>\"}");
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (!j.is_object() || !j.contains("repo") || !j["repo"].is_string())
    return text(400, "body must be {\"repo\": \"<host>/<path>\"}");
  auto id = parse_repo_id(j["repo"].get<std::string>(), cfg_);
  if (!id) return text(400, id.error().message);
  if (!cache_.trigger_sync(*id))
    return text(404, fmt::format("{} is not mirrored here", id->key()));
  return http::Response::json(202, nlohmann::json({{"queued", id->key()}}).dump());
}

http::Response GitService::handle_repos(const http::Request& req) {
  if (req.method != "GET") return text(405, "use GET");
  return http::Response::json(200, cache_.status_json());
}

}  // namespace outpost::git
