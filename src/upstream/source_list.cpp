#include "upstream/source_list.hpp"

#include "upstream/ask.hpp"

#include <spdlog/spdlog.h>

namespace outpost::upstream {

SourceList::SourceList(SourceSpec origin, const std::vector<MirrorConfig>& mirrors,
                       BreakerPolicy breaker, http::HttpClient& client,
                       const std::atomic<bool>& stopping, const Clock& clock) {
  for (const auto& m : mirrors)
    sources_.push_back(std::make_unique<Source>(
        SourceSpec{m.url, Role::mirror, m.insecure, m.username, m.password}, breaker, client,
        stopping, clock));
  origin.role = Role::origin;
  sources_.push_back(std::make_unique<Source>(std::move(origin), breaker, client, stopping, clock));
}

bool SourceList::down() const {
  for (const auto& s : sources_)
    if (!s->breaker().is_open()) return false;
  return true;
}

bool SourceList::paused() const {
  for (const auto& s : sources_)
    if (s->paused() == Millis(0)) return false;
  return true;
}

bool SourceList::contacted() const {
  for (const auto& s : sources_)
    if (s->contacted()) return true;
  return false;
}

std::vector<std::size_t> SourceList::to_try(DueProbes due) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    auto& b = sources_[i]->breaker();
    if (!b.is_open() || (due == DueProbes::include && b.claim_probe())) out.push_back(i);
  }
  if (out.empty()) out.push_back(sources_.size() - 1);
  return out;
}

void SourceList::distrust(std::size_t i, const std::string& what, const std::string& why) {
  if (!is_mirror(i)) return;
  record(*sources_[i], {Verdict::distrust, why}, what);
}

bool SourceList::any_probe_due() const {
  for (const auto& s : sources_)
    if (s->breaker().probe_due()) return true;
  return false;
}

void SourceList::probe_due(const Probe& probe, const std::string& what) {
  for (auto& s : sources_) {
    if (!s->breaker().claim_probe()) continue;
    auto why = probe(*s);
    record(*s, why ? Judged{Verdict::down, *why} : Judged{Verdict::answer}, what);
  }
}

std::vector<SourceHealth> SourceList::health() const {
  std::vector<SourceHealth> out;
  for (const auto& s : sources_) out.push_back(s->health());
  return out;
}

}  // namespace outpost::upstream
