#pragma once
// Logging set-up. Everything logs through spdlog's default logger; `setup_logging` picks text
// or one-JSON-object-per-line output. Secrets must never be passed to a log call: credentials
// live only in config structs and in request headers built by the upstream clients.
#include <string>
#include <vector>

#include "core/config.hpp"

namespace outpost {

void setup_logging(const LogConfig& cfg);

// The newest `n` warnings and errors logged since start (text lines, oldest first).
std::vector<std::string> recent_problems(std::size_t n);

// JSON string escaping for log lines and small hand-built documents.
std::string json_escape(std::string_view s);

}  // namespace outpost
