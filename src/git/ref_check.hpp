#pragma once
// The first step of every sync: one GET of the source's ref advertisement. When it matches what
// the mirror last fetched from that source, the sync is done — one upstream request and no git
// process for a repository that did not change.
#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "core/time.hpp"
#include "git/config.hpp"
#include "git/ref_advert.hpp"
#include "http/client.hpp"

namespace outpost::git {

// Sends one request to a source (its credentials, redirects and stop flag applied).
using SendFn = std::function<Result<http::ClientResponse>(http::ClientRequest)>;

struct RefCheck {
  // The source's refs; nullopt when it answered something else (401, 404, a dumb server): a full
  // sync then runs and git reports what is wrong.
  std::optional<RefAdvert> advert;
  // The source asked to be left alone this long (429, or 503 with Retry-After).
  std::optional<Millis> pause;
  int status = 0;
};

// GET <repo_url>/info/refs?service=git-upload-pack through `send` (v0: one request whatever the
// server's protocol default). Transport failures and timeouts are the error, as git would have
// met them ("unable to access '<url>': …").
Result<RefCheck> check_refs(const SendFn& send, const std::string& repo_url, const GitConfig& cfg,
                            const std::atomic<bool>& stop, const Clock& clock = Clock::system());

}  // namespace outpost::git
