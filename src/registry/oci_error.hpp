#pragma once
// OCI distribution error bodies: {"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}.
#include <string_view>

#include "http/message.hpp"

namespace outpost::registry {

http::Response oci_error(int status, std::string_view code, std::string_view message);

}  // namespace outpost::registry
