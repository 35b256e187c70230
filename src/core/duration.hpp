#pragma once
// Go/Kubernetes-style durations in config: "500ms", "30s", "5m", "1h", "1h30m".
#include <chrono>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outpost {

using Millis = std::chrono::milliseconds;

Result<Millis> parse_duration(std::string_view text);
std::string format_duration(Millis d);

}  // namespace outpost
