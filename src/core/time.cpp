#include "core/time.hpp"

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

namespace outpost {
namespace {

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point system_now() const override {
    return std::chrono::system_clock::now();
  }
  bool sleep_for(Millis d, const std::atomic<bool>& cancel) const override {
    auto until = std::chrono::steady_clock::now() + d;
    while (!cancel) {
      auto now = std::chrono::steady_clock::now();
      if (now >= until) return true;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - now, std::chrono::milliseconds(50)));
    }
    return false;
  }
};

}  // namespace

UnixSeconds Clock::unix_now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(system_now().time_since_epoch()).count();
}

const Clock& Clock::system() {
  static const SystemClock clock;
  return clock;
}

std::chrono::steady_clock::time_point FakeClock::steady_now() const {
  return steady0_ + Millis(offset_.load());
}

std::chrono::system_clock::time_point FakeClock::system_now() const {
  return system0_ + Millis(offset_.load());
}

bool FakeClock::sleep_for(Millis d, const std::atomic<bool>& cancel) const {
  if (cancel) return false;
  advance(d);
  return true;
}

UnixSeconds unix_now() {
  return Clock::system().unix_now();
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  auto tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string iso8601(std::optional<std::chrono::system_clock::time_point> t) {
  return t ? iso8601(*t) : std::string();
}

std::string iso8601_now() {
  return iso8601(std::chrono::system_clock::now());
}

bool sleep_unless_stopped(std::stop_token st, Millis d) {
  std::mutex m;
  std::unique_lock lock(m);
  std::condition_variable_any cv;
  cv.wait_for(lock, st, d, [] { return false; });
  return !st.stop_requested();
}

}  // namespace outpost
