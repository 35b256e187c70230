#include "http/status.hpp"

namespace outpost::http {

int status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return 400;
    case Errc::unauthorized:
      return 401;
    case Errc::forbidden:
      return 403;
    case Errc::not_found:
      return 404;
    case Errc::unsupported:
      return 405;
    case Errc::too_large:
      return 413;
    case Errc::no_space:
      return 507;
    case Errc::upstream_error:
    case Errc::digest_mismatch:
      return 502;
    case Errc::upstream_unavailable:
    case Errc::cancelled:
      return 503;
    case Errc::timeout:
      return 504;
    case Errc::io:
    case Errc::internal:
    case Errc::needs_upstream:
      return 500;
  }
  return 500;
}

}  // namespace outpost::http
