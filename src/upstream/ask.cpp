#include "upstream/ask.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace outpost::upstream {

void record(Source& s, const Judged& j, std::string_view what) {
  switch (j.verdict) {
    case Verdict::answer:
    case Verdict::not_here:
      if (s.breaker().is_open()) spdlog::info("{}: {} is reachable again", what, s.url());
      s.breaker().record_success();
      return;
    case Verdict::down:
    case Verdict::lost:
      if (!s.breaker().is_open())
        spdlog::warn("{}: {} {} marked down: {}", what, role_name(s.spec().role), s.url(), j.why);
      s.breaker().record_failure(j.why);
      return;
    case Verdict::distrust:
      spdlog::error("{}: {} {} sent content that does not verify ({}); asking the next source",
                    what, role_name(s.spec().role), s.url(), j.why);
      s.breaker().record_failure("sent content that does not verify: " + j.why);
      return;
    case Verdict::stop:
    case Verdict::pass:
      return;
  }
}

std::string outage_text(const Result<http::ClientResponse>& r) {
  return r ? fmt::format("HTTP {}", r->status) : r.error().message;
}

void note(Source& s, const Result<http::ClientResponse>& r, std::string_view what) {
  if (r) s.observe(*r);
  if (is_outage(r))
    record(s, {Verdict::down, outage_text(r)}, what);
  else if (r)
    record(s, {Verdict::answer}, what);
}

}  // namespace outpost::upstream
