#pragma once
// What every config section shares: the start-up error, and the log section (log.*), which
// core's logging reads. Each module owns its section (<module>/config.hpp: the struct and its key
// table); config/config.hpp puts them together into the one typed Config.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace outpost {

// Thrown only at start-up; the message names the key and the problem.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class LogFormat { text, json };
// "text" | "json"; nullopt for anything else.
std::optional<LogFormat> parse_log_format(std::string_view s);

struct LogConfig {
  LogFormat format = LogFormat::text;
  std::string level = "info";  // trace | debug | info | warn | error
};

}  // namespace outpost
