#pragma once
// Request bodies sent with Content-Encoding: gzip (git does this for large negotiations).
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outpost::http {

// Inflates a gzip stream. More than `max_out` bytes of output is Errc::too_large (a gzip bomb
// stops there); corrupt or truncated input is Errc::invalid_argument.
Result<std::string> gunzip(std::string_view in, std::size_t max_out);

}  // namespace outpost::http
