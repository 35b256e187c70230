#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace outpost {
namespace {

// {"time":"…","level":"info","logger":"access","msg":"…"} — one object per line.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto t = std::chrono::system_clock::to_time_t(msg.time);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[40];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string line =
        fmt::format(R"({{"time":"{}.{:03}Z","level":"{}","logger":"{}","msg":"{}"}})", ts,
                    ms.count(), spdlog::level::to_string_view(msg.level),
                    json_escape({msg.logger_name.data(), msg.logger_name.size()}),
                    json_escape({msg.payload.data(), msg.payload.size()}));
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Warnings and errors kept for the status page (the newest 50).
std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> problems() {
  static auto sink = [] {
    auto s = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(50);
    s->set_level(spdlog::level::warn);
    s->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%SZ %l %v",
                                                                 spdlog::pattern_time_type::utc));
    return s;
  }();
  return sink;
}

}  // namespace

std::vector<std::string> recent_problems(std::size_t n) {
  auto lines = problems()->last_formatted(n);
  for (auto& l : lines)
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
  return lines;
}

void setup_logging(const LogConfig& cfg) {
  auto logger = spdlog::stderr_logger_mt("outpost");
  if (cfg.format == LogFormat::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->sinks().push_back(problems());  // after the formatter: it keeps its own pattern
  logger->set_level(spdlog::level::from_str(cfg.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

}  // namespace outpost
