#pragma once
// The one error vocabulary of Outpost. Request paths return Result<T>; errno, curl and sqlite codes
// are converted to an Error at the boundary where they occur. Exceptions are reserved for start-up
// and configuration failures that end the process.
#include <expected>
#include <string>
#include <string_view>

namespace outpost {

enum class Errc {
  invalid_argument,      // the caller sent something malformed
  not_found,             // nothing by that name, locally and (if asked) upstream
  unsupported,           // an operation Outpost refuses by design (push, delete)
  unauthorized,          // credentials missing or rejected
  forbidden,             // not allowed here (e.g. a host outside the allowlist)
  too_large,             // a request or upload over a configured limit
  upstream_unavailable,  // upstream is down or the circuit breaker is open
  upstream_error,        // upstream answered, but not usefully
  digest_mismatch,       // bytes do not hash to the digest they claim
  io,                    // local filesystem or database failure
  no_space,              // ENOSPC / EDQUOT
  timeout,
  cancelled,  // shutdown or a client went away
  internal,
  needs_upstream,  // asked for local state only (http::Reach::local), and only an upstream can
                   // answer
};

struct Error {
  Errc code;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

// Wraps errno: "what: strerror(err)", ENOSPC/EDQUOT map to Errc::no_space.
std::unexpected<Error> fail_errno(std::string_view what, int err);

std::string_view errc_name(Errc code);

}  // namespace outpost
