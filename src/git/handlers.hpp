#pragma once
// HTTP endpoints of the Git cache: smart-HTTP serving under /git/ (info/refs, git-upload-pack;
// receive-pack refused), the push webhook and the mirror status API. Errors are text/plain so
// the git client prints them ("remote: …").
#include <memory>
#include <semaphore>

#include "git/cache.hpp"
#include "git/pack_cache.hpp"
#include "http/message.hpp"

namespace outpost::git {

class GitService {
 public:
  // `packs` (nullable): fetches that end a negotiation go through the pack cache.
  GitService(GitCache& cache, const GitConfig& cfg, Metrics& metrics, PackCache* packs = nullptr);

  // /git/…, tiered (http::TieredHandler): with Reach::local, nothing when only a clone or a
  // refresh from upstream can answer.
  std::optional<http::Response> handle_git(const http::Request& req, http::Reach reach);
  http::Response handle_webhook(const http::Request& req);  // POST /api/v1/git/webhook
  http::Response handle_repos(const http::Request& req);    // GET /api/v1/git/repos
  // POST /api/v1/cluster/git-sync {"repo": "<host>/<path>"}: a peer replica (the repository's
  // owner after it synced, or one passing a push on) asks for a sync now.
  http::Response handle_peer_sync(const http::Request& req);

 private:
  std::optional<http::Response> info_refs(const RepoId& repo, const http::Request& req,
                                          http::Reach reach);
  http::Response upload_pack(const RepoId& repo, const http::Request& req);
  // Starts `git upload-pack` for `dir` on `request` (held in a memfd), within the concurrency
  // slots (Errc::upstream_unavailable when none frees up in 30 s).
  Result<StartedPack> start_upload_pack(const std::filesystem::path& dir, std::string_view request,
                                        int version);

  GitCache& cache_;
  const GitConfig& cfg_;
  MetricFamily& adverts_;
  MetricFamily& runs_;  // upload-pack runs outside the pack cache (it counts its own)
  std::shared_ptr<std::counting_semaphore<4096>> slots_;  // concurrent upload-pack processes
  PackCache* packs_;
};

// "version=2" in a Git-Protocol header -> 2, else 0.
int requested_protocol(const http::Request& req);

}  // namespace outpost::git
