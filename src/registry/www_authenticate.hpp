#pragma once
// Parses an upstream's WWW-Authenticate challenge: `Bearer realm="…",service="…",scope="…"` or
// `Basic realm="…"`.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::registry {

struct Challenge {
  std::string scheme;                         // lower case: "bearer" or "basic"
  std::map<std::string, std::string> params;  // lower-case keys
};

std::optional<Challenge> parse_www_authenticate(std::string_view header);

}  // namespace outpost::registry
