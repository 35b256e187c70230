#pragma once
// The one ask-in-order engine. A protocol (the registry, Helm, Git) hands it the order to ask —
// peer replicas, mirrors, the origin, later an object store: all Sources, passed as handles — a
// function that asks one of them, and a verdict function that says what an outcome means. The
// engine walks the order, and it alone records outcomes in the sources' breakers: an answer
// closes a breaker, a source that is down or sent content that does not verify has its breaker
// opened (never the origin's for content: the origin is the authority, its wrong content fails the
// request). The protocol keeps only its verdicts and what it does with the answer.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "upstream/source.hpp"

namespace outpost::upstream {

// What one source's outcome means to the protocol that asked.
enum class Verdict {
  answer,    // the answer: asking stops and returns it
  not_here,  // the source answered that it lacks this (a mirror's 404): the next is asked, and
             // the first such answer is returned when no source has it
  distrust,  // content that does not verify: the source's breaker opens (not the origin's: its
             // outcome is returned as is), and the next is asked
  down,      // a transport failure, a 5xx, a stall: the source's breaker opens, the next is asked
  stop,      // asking stops and this outcome is returned as is, breakers untouched (cancelled; a
             // body cut midway that the caller resumes from the bytes it holds)
  lost,      // the source failed as for `down`, but asking stops (a blob transfer whose caller
             // retries from the bytes it holds): the breaker opens, this outcome is returned
  pass,      // the source was not asked (it is pausing at its own request, or its breaker is open
             // and the probe is not this caller's): breakers untouched, the next is asked
};

struct Judged {
  Verdict verdict;
  std::string why{};  // for distrust and down: what the breaker and the log say
};

// One step of the order: a source, and whether it is asked only for what it holds (a peer asked
// for a copy, not to fetch upstream for it).
struct Hop {
  Source* source;
  bool held_only = false;
};

template <class T>
struct Asked {
  Result<T> outcome;
  Source* by = nullptr;   // whose outcome it is (nullptr: none, the `none` error)
  bool answered = false;  // the outcome is an answer (Verdict::answer)
};

// What comes back when no source answered: the first "not here" (a registry's 404 is an answer
// worth giving), or the last "not here" or failure (a Git sync reports why the last source
// failed). Distrusted content and sources passed over never come back.
enum class Fallback { first_not_here, last };

// Records `j` for `s` (the engine's one place for breaker outcomes) and logs it under `what`
// ("upstream docker.io").
void record(Source& s, const Judged& j, std::string_view what);

// What an outage says, for breakers and logs: "HTTP 503", or the transport error's message.
std::string outage_text(const Result<http::ClientResponse>& r);

// The outcome of one request to a single source that is not asked in an order (a chart from the
// source its index names, a registry upload to the origin): rate limits kept, a transport failure
// or a 5xx opens the breaker, an answer closes it, a cancellation or an oversized answer changes
// nothing.
void note(Source& s, const Result<http::ClientResponse>& r, std::string_view what);

// Asks each hop of `order` with `ask` until a verdict ends it (see Verdict). With no hop at all,
// the outcome is `none`.
template <class T>
Asked<T> ask_in_order(const std::vector<Hop>& order,
                      const std::function<Result<T>(const Hop&)>& ask,
                      const std::function<Judged(const Hop&, const Result<T>&)>& judge,
                      std::string_view what, Fallback fallback = Fallback::first_not_here,
                      Error none = {Errc::upstream_unavailable, "no source"}) {
  std::optional<Asked<T>> not_here, last;
  for (const auto& hop : order) {
    auto r = ask(hop);
    auto j = judge(hop, r);
    const bool origin = hop.source->spec().role == Role::origin;
    if (j.verdict == Verdict::stop || (j.verdict == Verdict::distrust && origin))
      return {std::move(r), hop.source};
    record(*hop.source, j, what);
    if (j.verdict == Verdict::answer) return {std::move(r), hop.source, true};
    if (j.verdict == Verdict::lost) return {std::move(r), hop.source};
    if (j.verdict == Verdict::pass || j.verdict == Verdict::distrust) continue;
    if (j.verdict == Verdict::not_here && !not_here && fallback == Fallback::first_not_here)
      not_here.emplace(Asked<T>{r, hop.source});
    last.emplace(Asked<T>{std::move(r), hop.source});
  }
  if (not_here) return std::move(*not_here);
  if (last) return std::move(*last);
  return {std::unexpected(std::move(none)), nullptr};
}

}  // namespace outpost::upstream
