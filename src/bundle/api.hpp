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

class Uploads;

// /api/v1/uploads/<name>/<version>: a bundle file streamed into the running server in chunks
// (admin group). GET: the upload in progress {offset, size, digest} (404: none). PUT: one chunk,
// `Content-Range: bytes <first>-<last>/<size>` and `X-Outpost-Bundle-Digest: sha256:<hex>` of the
// whole file; 202 {offset, size} while incomplete, 416 {offset} when the chunk does not start
// where the upload is (resume there), 409 when another file is being uploaded for the release.
// The last chunk starts the release job (verification, then import): 202 {…, release: status}.
// A release already ready answers 200 {release} and keeps nothing. DELETE: forget the upload.
inline constexpr std::size_t kUploadChunkBytes = 8 << 20;  // the client's chunk; the route's limit
http::Response handle_uploads(Uploads& uploads, ReleaseJobs& jobs, ReleaseFanout* fanout,
                              const http::Request& req);

}  // namespace outpost::bundle
