#pragma once
// A BodySink that collects a 2xx body in memory, up to a limit (over it, the transfer stops and
// `over` is set).
#include <span>
#include <string>

#include "http/client.hpp"

namespace outpost::http {

class StringSink final : public BodySink {
 public:
  explicit StringSink(std::size_t limit) : limit_(limit) {}
  bool on_start(int, const Headers&) override {
    data.clear();
    return true;
  }
  bool on_data(std::span<const char> bytes) override {
    if (data.size() + bytes.size() > limit_) {
      over = true;
      return false;
    }
    data.append(bytes.data(), bytes.size());
    return true;
  }
  std::string data;
  bool over = false;

 private:
  std::size_t limit_;
};

}  // namespace outpost::http
