#include "http/retry_after.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace outpost::http {
namespace {

std::optional<Millis> parse_retry_after(std::string_view v,
                                        std::chrono::system_clock::time_point now) {
  std::uint64_t seconds = 0;
  if (auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
      ec == std::errc() && p == v.data() + v.size())
    return std::chrono::duration_cast<Millis>(std::chrono::seconds(seconds));
  std::tm tm{};
  const std::string s(v);
  const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  return std::chrono::duration_cast<Millis>(std::max(at - now, now - now));
}

}  // namespace

std::optional<Millis> asked_pause(const http::ClientResponse& r,
                                  std::chrono::system_clock::time_point now) {
  if (r.status != 429 && r.status != 503) return std::nullopt;
  auto header = r.headers.get("retry-after");
  std::optional<Millis> asked = header ? parse_retry_after(*header, now) : std::nullopt;
  if (!asked) {
    if (r.status == 503) return std::nullopt;  // an outage, not a request to wait
    asked = std::chrono::seconds(60);
  }
  return std::clamp<Millis>(*asked, std::chrono::seconds(1), std::chrono::hours(1));
}

}  // namespace outpost::http
