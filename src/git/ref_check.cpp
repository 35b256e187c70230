#include "git/ref_check.hpp"

#include <fmt/format.h>

#include "http/retry_after.hpp"

namespace outpost::git {

Result<RefCheck> check_refs(const SendFn& send, const std::string& repo_url, const GitConfig& cfg,
                            const std::atomic<bool>& stop, const Clock& clock) {
  http::ClientRequest req;
  req.url = repo_url + "/info/refs?service=git-upload-pack";
  req.headers = {{"Accept", "application/x-git-upload-pack-advertisement"}};
  req.connect_timeout = cfg.probe_timeout;
  req.stall_timeout = cfg.stall_timeout;
  req.total_timeout = cfg.sync_timeout;
  req.cancel = &stop;
  req.max_body = 256u << 20;  // as for git's own output (GitRun::max_output)
  req.body_name = "ref advertisement";
  auto r = send(std::move(req));
  if (!r)
    return fail(r.error().code,
                fmt::format("unable to access '{}': {}", repo_url, r.error().message));
  RefCheck out;
  out.status = r->status;
  out.pause = http::asked_pause(*r, clock.system_now());
  if (r->status != 200) return out;
  if (auto ct = r->headers.get("content-type");
      !ct || !ct->starts_with("application/x-git-upload-pack-advertisement"))
    return out;
  if (auto advert = parse_ref_advert(r->body)) out.advert = std::move(*advert);
  return out;
}

}  // namespace outpost::git
