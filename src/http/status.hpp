#pragma once
// The one mapping from Outpost's error vocabulary (Errc) to an HTTP status, used by every handler
// (registry, git, helm, bundle API). A module may add its own body format (the registry's OCI
// error codes) but not its own statuses.
#include "core/error.hpp"

namespace outpost::http {

// invalid_argument 400, unauthorized 401 (a client's credentials), forbidden 403, not_found 404,
// unsupported 405, too_large 413, no_space 507, upstream_error and digest_mismatch 502 (an
// upstream answered wrongly), upstream_unavailable and cancelled 503, timeout 504, the rest 500.
int status_for(Errc code);

}  // namespace outpost::http
