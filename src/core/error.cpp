#include "core/error.hpp"

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

namespace outpost {

std::unexpected<Error> fail_errno(std::string_view what, int err) {
  Errc code = (err == ENOSPC || err == EDQUOT) ? Errc::no_space : Errc::io;
  return fail(code, fmt::format("{}: {}", what, std::strerror(err)));
}

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::unsupported:
      return "unsupported";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::forbidden:
      return "forbidden";
    case Errc::too_large:
      return "too_large";
    case Errc::upstream_unavailable:
      return "upstream_unavailable";
    case Errc::upstream_error:
      return "upstream_error";
    case Errc::digest_mismatch:
      return "digest_mismatch";
    case Errc::io:
      return "io";
    case Errc::no_space:
      return "no_space";
    case Errc::timeout:
      return "timeout";
    case Errc::cancelled:
      return "cancelled";
    case Errc::internal:
      return "internal";
    case Errc::needs_upstream:
      return "needs_upstream";
  }
  return "unknown";
}

}  // namespace outpost
