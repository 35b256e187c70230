#pragma once
// Fakes at the HTTP seam (http::HttpClient) for unit tests of the code that talks to upstreams.
// FakeHttp answers every request with a function of it — a small registry, a stall, a cut — and
// records what was asked; it is thread-safe (the mirror's download pool calls it too).
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/client.hpp"

namespace outpost::testing {

class FakeHttp final : public http::HttpClient {
 public:
  using Handler =
      std::function<Result<http::ClientResponse>(const http::ClientRequest&, http::BodySink*)>;
  explicit FakeHttp(Handler h = {}) : handler_(std::move(h)) {}
  void set(Handler h) {
    std::lock_guard lock(mu_);
    handler_ = std::move(h);
  }
  Result<http::ClientResponse> perform(const http::ClientRequest& req,
                                       http::BodySink* sink) override {
    Handler h;
    {
      std::lock_guard lock(mu_);
      seen_.push_back(req);
      h = handler_;
    }
    if (!h) return fail(Errc::upstream_unavailable, "nothing answers");
    return h(req, sink);
  }
  std::vector<http::ClientRequest> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Requests with this method whose URL contains `fragment`.
  std::size_t count(std::string_view method, std::string_view fragment) const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& r : seen_)
      if (r.method == method && r.url.find(fragment) != std::string::npos) ++n;
    return n;
  }

 private:
  mutable std::mutex mu_;
  Handler handler_;                        // GUARDED_BY(mu_)
  std::vector<http::ClientRequest> seen_;  // GUARDED_BY(mu_)
};

inline std::optional<std::string> header(const http::ClientRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return std::nullopt;
}

// An answer as a server sends it: 2xx bodies go to the sink when there is one (as CurlHttpClient
// does). With `cut`, only that many body bytes arrive and the transfer ends with `cut_error` (a
// dropped connection).
inline Result<http::ClientResponse> answer(http::BodySink* sink, int status,
                                           std::vector<std::pair<std::string, std::string>> headers,
                                           std::string body,
                                           std::optional<std::size_t> cut = std::nullopt,
                                           Errc cut_error = Errc::upstream_unavailable) {
  http::ClientResponse r;
  r.status = status;
  for (auto& [k, v] : headers) r.headers.add(k, v);
  if (sink && status / 100 == 2) {
    if (!sink->on_start(status, r.headers)) return fail(Errc::cancelled, "sink refused");
    std::string_view b = body;
    if (cut) b = b.substr(0, *cut);
    if (!b.empty() && !sink->on_data(std::span(b.data(), b.size())))
      return fail(Errc::cancelled, "sink refused");
    if (cut) return fail(cut_error, "connection dropped");
    return r;
  }
  r.body = std::move(body);
  return r;
}

}  // namespace outpost::testing
