// sources::OciSources::status(): each followed source as the status page, `outpost status` and
// /api/v1/sources show it.
#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "sources/source_parts.hpp"

namespace outpost::sources {
namespace {

using json = nlohmann::json;

std::string when(UnixSeconds t) {
  return t ? iso8601(std::chrono::system_clock::time_point(std::chrono::seconds(t))) : "";
}

const char* state_word(VersionState::State s) {
  return s == VersionState::State::ready  ? "ready"
         : s == VersionState::State::held ? "held"
                                          : "pending";
}

// The highest ready version whose digest is `d` ("" when none).
std::string version_of(const SourceState& st, const Digest& d) {
  std::optional<SemVer> best;
  std::string out;
  for (const auto& [t, v] : st.versions) {
    auto sv = SemVer::parse(t);
    if (v.state != VersionState::State::ready || v.digest != d || !sv) continue;
    if (!best || *best < *sv) {
      best = sv;
      out = t;
    }
  }
  return out;
}

json source_json(const OciSourceConfig& cfg, const SourceState& st, std::size_t listed,
                 const std::vector<std::string>& kept) {
  json advertised = json::object(), versions = json::array(), held = json::array();
  for (const auto& [tag, t] : st.tags) {
    if (t.advertised)
      advertised[tag] = {{"digest", t.advertised->str()},
                         {"version", version_of(st, *t.advertised)},
                         {"since", when(t.moved_at)}};
    if (!t.why.empty()) held.push_back({{"tag", tag}, {"why", t.why}});
  }
  std::optional<SemVer> top;
  std::string top_tag;
  for (const auto& [tag, v] : st.versions) {
    versions.push_back({{"tag", tag},
                        {"digest", v.digest.str()},
                        {"state", state_word(v.state)},
                        {"why", v.why},
                        {"since", when(v.since)}});
    if (v.state != VersionState::State::ready) {
      held.push_back({{"tag", tag}, {"why", v.why}});
      continue;
    }
    if (auto sv = SemVer::parse(tag); sv && (!top || *top < *sv)) {
      top = sv;
      top_tag = tag;
    }
  }
  json notes = json::array();
  for (const auto& n : cfg.notify) {
    NotifyStats s;
    if (auto it = st.notify.find(n.url); it != st.notify.end()) s = it->second;
    notes.push_back({{"kind", n.kind == SourceNotifyConfig::Kind::argocd ? "argocd" : "flux"},
                     {"url", shown_url(n.url)},
                     {"sent", s.sent},
                     {"retried", s.retried},
                     {"failed", s.failed},
                     {"pending", s.pending},
                     {"last_error", s.last_error},
                     {"last_sent", when(s.last_sent)}});
  }
  return {{"repository", cfg.repository},
          {"follow", cfg.follow},
          {"gate", cfg.gate == SourceGate::images ? "images" : "none"},
          {"interval_seconds", std::chrono::duration<double>(cfg.interval).count()},
          {"keep", cfg.keep},
          {"advertised", advertised},
          {"advertised_version", top_tag},
          {"newest_upstream", st.newest_upstream},
          {"versions", versions},
          {"held", held},
          {"kept", kept},
          {"tags_listed", listed},
          {"listed_at", when(st.listed_at)},
          {"last_check", when(st.checked_at)},
          {"upstream_reachable", st.reached},
          {"last_error", st.last_error},
          {"checks", st.checks},
          {"notifications", notes}};
}

}  // namespace

json OciSources::status() const {
  std::map<std::string, std::vector<std::string>> kept;
  if (auto rows = d_.db.releases())
    for (const auto& r : *rows) kept[r.name].push_back(r.version);
  json list = json::array();
  MutexLock lock(mu_);
  for (const auto& s : sources_)
    list.push_back(
        source_json(s->cfg, s->state, s->visible ? s->visible->size() : 0, kept[s->release_name]));
  return {{"oci", list}};
}

}  // namespace outpost::sources
