#include "upstream/resumable.hpp"

#include <fmt/format.h>

namespace outpost::upstream {

Result<ResumeStats> fetch_resumable(const Attempt& attempt, ResumableSink& sink, RetryBudget& retry,
                                    const std::atomic<bool>& cancel, const OnRetry& on_retry,
                                    int max_attempts) {
  ResumeStats st;
  for (;;) {
    if (cancel) return fail(Errc::cancelled, "transfer cancelled");
    const std::uint64_t before = sink.held();
    sink.begin_attempt();
    ++st.attempts;
    auto r = attempt(before);
    if (auto why = sink.rejected()) return std::unexpected(*why);
    if (sink.held() > before) retry.progressed();
    Error why{Errc::upstream_unavailable, ""};
    if (r && r->status >= 200 && r->status < 300) {
      if (sink.complete()) return st;
      why.message = "transfer ended early";
    } else if (r && r->status == 416 && before > 0) {
      return st;  // asked past the end: everything is here
    } else if (r && r->status < 500) {
      return fail(r->status == 404 ? Errc::not_found : Errc::upstream_error,
                  fmt::format("upstream answered HTTP {}", r->status));
    } else if (r) {
      why.message = fmt::format("upstream answered HTTP {}", r->status);
    } else if (r.error().code == Errc::upstream_unavailable || r.error().code == Errc::timeout) {
      why = r.error();
    } else {
      return std::unexpected(r.error());  // cancelled (shutdown) or a local failure
    }
    auto pause = retry.next_pause();
    if (!pause || (max_attempts > 0 && st.attempts >= max_attempts)) {
      why.message += fmt::format(" (gave up after {} attempts; {} without progress)", st.attempts,
                                 format_duration(retry.budget()));
      return std::unexpected(why);
    }
    if (on_retry) on_retry(why, sink.held(), *pause);
    if (!retry.wait(*pause, cancel)) return fail(Errc::cancelled, "transfer cancelled");
  }
}

}  // namespace outpost::upstream
