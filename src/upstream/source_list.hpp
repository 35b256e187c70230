#pragma once
// The sources of one upstream in the order they are tried: its mirrors in configured order, then
// the origin. A mirror is a regional Outpost or another cache of the same origin, with its own
// credentials (the origin's never go to a mirror) and its own breaker. What each kind of upstream
// does with the order (pass a "not here" on, distrust wrong content) is its own; this class owns
// the order, the breakers' view of it and the health of every source. Thread-safe.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/circuit_breaker.hpp"
#include "upstream/config.hpp"
#include "upstream/source.hpp"

namespace outpost::upstream {

class SourceList {
 public:
  SourceList(SourceSpec origin, const std::vector<MirrorConfig>& mirrors, BreakerPolicy breaker,
             http::HttpClient& client, const std::atomic<bool>& stopping,
             const Clock& clock = Clock::system());
  SourceList(const SourceList&) = delete;
  SourceList& operator=(const SourceList&) = delete;

  std::size_t size() const { return sources_.size(); }
  Source& at(std::size_t i) { return *sources_[i]; }
  const Source& at(std::size_t i) const { return *sources_[i]; }
  Source& origin() { return *sources_.back(); }
  const Source& origin() const { return *sources_.back(); }
  bool is_mirror(std::size_t i) const { return i + 1 < sources_.size(); }

  // Every breaker is open: nothing would be dialled.
  bool down() const;
  // Every source asked to be left alone (Source::paused): polls leave the upstream alone.
  bool paused() const;
  // Some source has been sent a request.
  bool contacted() const;
  // Whether an open breaker whose probe is due counts as worth trying: background work (syncs,
  // index refreshes) doubles as the probe of the sources it would use; request paths do not.
  enum class DueProbes { skip, include };
  // The sources to try now, in order: those whose breaker is closed (or due for a probe, with
  // DueProbes::include: the probe is claimed, so the caller reports its outcome and no other
  // caller probes meanwhile); when none is, the origin alone (for a caller that must try
  // something; its failure does not lengthen the backoff).
  std::vector<std::size_t> to_try(DueProbes due = DueProbes::skip) const;
  // Source `i` sent content that does not verify: a mirror's breaker opens with `why` (logged).
  // The origin is never distrusted: it is the authority, its wrong content fails the request.
  void distrust(std::size_t i, const std::string& what, const std::string& why);
  // Each source whose breaker is due for a probe is probed with `probe`, which returns why the
  // source is still down, or nothing when it answers (its breaker then closes).
  bool any_probe_due() const;
  using Probe = std::function<std::optional<std::string>(Source&)>;
  void probe_due(const Probe& probe, const std::string& what);
  std::vector<SourceHealth> health() const;

 private:
  std::vector<std::unique_ptr<Source>> sources_;  // the origin last
};

}  // namespace outpost::upstream
