#include "sources/source_state.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace outpost::sources {
namespace {

using json = nlohmann::json;

const char* state_name(VersionState::State s) {
  switch (s) {
    case VersionState::State::ready:
      return "ready";
    case VersionState::State::held:
      return "held";
    case VersionState::State::pending:
      break;
  }
  return "pending";
}

std::optional<Digest> digest_at(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
  auto d = Digest::parse(j[key].get<std::string>());
  return d ? std::optional<Digest>(*d) : std::nullopt;
}

}  // namespace

json state_json(const SourceState& s) {
  json tags = json::object(), versions = json::object(), notify = json::object();
  for (const auto& [tag, t] : s.tags)
    tags[tag] = {{"advertised", t.advertised ? t.advertised->str() : ""},
                 {"upstream", t.upstream ? t.upstream->str() : ""},
                 {"why", t.why},
                 {"moved_at", t.moved_at}};
  for (const auto& [tag, v] : s.versions)
    versions[tag] = {{"state", state_name(v.state)},
                     {"digest", v.digest.str()},
                     {"why", v.why},
                     {"since", v.since}};
  for (const auto& [url, n] : s.notify)
    notify[url] = {{"sent", n.sent},
                   {"failed", n.failed},
                   {"retried", n.retried},
                   {"last_error", n.last_error},
                   {"last_sent", n.last_sent}};
  return {{"tags", tags},
          {"versions", versions},
          {"listed_at", s.listed_at},
          {"checked_at", s.checked_at},
          {"reached", s.reached},
          {"last_error", s.last_error},
          {"newest_upstream", s.newest_upstream},
          {"checks", s.checks},
          {"notify", notify}};
}

SourceState state_from_json(const json& j) {
  SourceState s;
  if (!j.is_object()) return s;
  const json tags_json = j.value("tags", json::object());  // items() needs it alive
  for (const auto& [tag, t] : tags_json.items()) {
    if (!t.is_object()) continue;
    TagState ts;
    ts.advertised = digest_at(t, "advertised");
    ts.upstream = digest_at(t, "upstream");
    ts.why = t.value("why", "");
    ts.moved_at = t.value("moved_at", UnixSeconds{0});
    s.tags[tag] = ts;
  }
  const json versions_json = j.value("versions", json::object());  // items() needs it alive
  for (const auto& [tag, v] : versions_json.items()) {
    if (!v.is_object()) continue;
    auto d = digest_at(v, "digest");
    if (!d) continue;
    VersionState vs;
    vs.digest = *d;
    const auto st = v.value("state", "");
    vs.state = st == "ready"  ? VersionState::State::ready
               : st == "held" ? VersionState::State::held
                              : VersionState::State::pending;
    vs.why = v.value("why", "");
    vs.since = v.value("since", UnixSeconds{0});
    s.versions[tag] = vs;
  }
  const json notify_json = j.value("notify", json::object());  // items() needs it alive
  for (const auto& [url, n] : notify_json.items()) {
    if (!n.is_object()) continue;
    NotifyStats ns;
    ns.sent = n.value("sent", std::uint64_t{0});
    ns.failed = n.value("failed", std::uint64_t{0});
    ns.retried = n.value("retried", std::uint64_t{0});
    ns.last_error = n.value("last_error", "");
    ns.last_sent = n.value("last_sent", UnixSeconds{0});
    s.notify[url] = ns;
  }
  s.listed_at = j.value("listed_at", UnixSeconds{0});
  s.checked_at = j.value("checked_at", UnixSeconds{0});
  s.reached = j.value("reached", true);
  s.last_error = j.value("last_error", "");
  s.newest_upstream = j.value("newest_upstream", "");
  s.checks = j.value("checks", std::uint64_t{0});
  return s;
}

std::vector<std::string> versions_in_range(const std::vector<std::string>& tags,
                                           const std::vector<SemVerRange>& ranges) {
  std::vector<std::pair<SemVer, std::string>> found;
  for (const auto& t : tags) {
    auto v = SemVer::parse(t);
    if (!v) continue;
    if (std::ranges::any_of(ranges, [&](const SemVerRange& r) { return r.matches(*v); }))
      found.emplace_back(*v, t);
  }
  std::ranges::sort(found, [](const auto& a, const auto& b) {
    const int k = compare(a.first, b.first);
    return k != 0 ? k > 0 : a.second > b.second;
  });
  std::vector<std::string> out;
  for (auto& [v, t] : found) out.push_back(std::move(t));
  return out;
}

std::vector<std::string> visible_tags(const std::vector<std::string>& snapshot,
                                      const SourceState& s) {
  std::set<std::string> out;
  for (const auto& t : snapshot) {
    auto it = s.versions.find(t);
    if (it == s.versions.end() || it->second.state == VersionState::State::ready) out.insert(t);
  }
  for (const auto& [t, v] : s.versions)
    if (v.state == VersionState::State::ready) out.insert(t);
  return {out.begin(), out.end()};
}

registry::SourceView::TagAnswer answer_for(const SourceState& s, const std::string& tag) {
  if (auto it = s.tags.find(tag); it != s.tags.end()) {
    if (it->second.advertised)
      return registry::SourceView::TagAnswer::advertise(*it->second.advertised);
    return registry::SourceView::TagAnswer::hold(
        fmt::format("{} is held back by Outpost until what it needs is local: {}", tag,
                    it->second.why.empty() ? "not checked yet" : it->second.why));
  }
  if (auto it = s.versions.find(tag); it != s.versions.end()) {
    if (it->second.state == VersionState::State::ready)
      return registry::SourceView::TagAnswer::advertise(it->second.digest);
    return registry::SourceView::TagAnswer::hold(
        fmt::format("{} is held back by Outpost until what it needs is local: {}", tag,
                    it->second.why.empty() ? "checking" : it->second.why));
  }
  return registry::SourceView::TagAnswer();
}

}  // namespace outpost::sources
