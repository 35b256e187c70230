#pragma once
// /api/v1/releases: start or join a release import, list releases, report one release's state.
// With a cluster (`fanout` enabled), a client's start is fanned out to the peers once ready here,
// and one release's state lists every replica (bundle/fanout.hpp). A peer's request (marked)
// gets this replica's own answer only.
#include "bundle/jobs.hpp"
#include "http/message.hpp"

namespace outpost::bundle {

class ReleaseFanout;

http::Response handle_releases(ReleaseJobs& jobs, ReleaseFanout* fanout, const http::Request& req);

}  // namespace outpost::bundle
