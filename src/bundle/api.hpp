#pragma once
// /api/v1/releases: start or join a release import, list releases, report one release's state.
#include "bundle/jobs.hpp"
#include "http/message.hpp"

namespace outpost::bundle {

http::Response handle_releases(ReleaseJobs& jobs, const http::Request& req);

}  // namespace outpost::bundle
