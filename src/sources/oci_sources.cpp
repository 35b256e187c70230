#include "sources/oci_sources.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "bundle/source_artifact.hpp"
#include "gate/gate.hpp"
#include "registry/manifest.hpp"
#include "sources/metric_defs.hpp"
#include "sources/source_parts.hpp"
#include "store/atomic_file.hpp"

namespace outpost::sources {

using json = nlohmann::json;

namespace {

std::string held_names(const SourceState& st) {
  std::string out;
  for (const auto& [t, v] : st.versions)
    if (v.state != VersionState::State::ready) out += (out.empty() ? "" : ", ") + t;
  for (const auto& [t, s] : st.tags)
    if (!s.why.empty()) out += (out.empty() ? "" : ", ") + t;
  return out;
}

}  // namespace

OciSources::OciSources(SourcesDeps deps, const Clock& clock)
    : d_(std::move(deps)),
      clock_(clock),
      notifier_(
          d_.client,
          [this](const std::string& source, const SourceNotifyConfig& target,
                 Notifier::Outcome outcome,
                 const std::string& error) { note_delivery(source, target, outcome, error); },
          8, d_.notify_retry),
      pool_(static_cast<unsigned>(std::clamp<std::size_t>(d_.cfg.oci.size(), 1, 4))) {
  json saved = json::object();
  if (std::ifstream in(d_.state_file); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    saved = json::parse(ss.str(), nullptr, false);
    if (!saved.is_object()) saved = json::object();
  }
  for (std::size_t i = 0; i < d_.cfg.oci.size(); ++i) sources_.push_back(load_source(i, saved));
  register_metrics();
}

std::unique_ptr<OciSources::Source> OciSources::load_source(std::size_t i, const json& saved) {
  const auto& c = d_.cfg.oci[i];
  auto s = std::unique_ptr<Source>(new Source{.index = i, .cfg = c});
  s->upstream = c.repository.substr(0, c.repository.find('/'));
  s->repo = c.repository.substr(c.repository.find('/') + 1);
  if (s->upstream == "docker.io" && s->repo.find('/') == std::string::npos)
    s->repo = "library/" + s->repo;
  for (const auto& f : c.follow) {
    if (!SemVerRange::looks_like_range(f)) {
      s->literal.push_back(f);
    } else if (auto r = SemVerRange::parse(f)) {
      s->ranges.push_back(*r);
    }
  }
  s->release_name = "source:" + c.repository;
  if (saved.contains(c.repository)) s->state = state_from_json(saved[c.repository]);
  // What the config no longer follows is no longer governed (the usual lookups answer it).
  std::erase_if(s->state.tags, [&](const auto& kv) {
    return std::ranges::find(s->literal, kv.first) == s->literal.end();
  });
  std::erase_if(s->state.versions, [&](const auto& kv) {
    auto v = SemVer::parse(kv.first);
    return !v ||
           std::ranges::none_of(s->ranges, [&](const SemVerRange& r) { return r.matches(*v); });
  });
  // The snapshot upstream sent last, from the store: a restart offline lists it too.
  if (auto at = d_.db.tag_list_fetched_at(s->upstream, s->repo); at && *at) {
    auto tags =
        d_.db.tag_list_page(s->upstream, s->repo, "", std::numeric_limits<std::size_t>::max(),
                            MetaDb::TagSource::listed);
    if (tags) {
      s->snapshot = {tags->begin(), tags->end()};
      s->visible = std::make_shared<const std::vector<std::string>>(visible_tags(*tags, s->state));
      s->state.listed_at = std::max(s->state.listed_at, **at);
    }
  }
  return s;
}

void OciSources::note_delivery(const std::string& source, const SourceNotifyConfig& target,
                               Notifier::Outcome outcome, const std::string& error) {
  static constexpr const char* kOutcome[] = {"sent", "retried", "failed"};
  d_.metrics.counter(metric::notifications_total)
      .add({{"source", source},
            {"kind", target.kind == SourceNotifyConfig::Kind::argocd ? "argocd" : "flux"},
            {"result", kOutcome[static_cast<int>(outcome)]}});
  if (outcome != Notifier::Outcome::sent)
    spdlog::warn("sources: notifying {} of {} failed ({}){}", shown_url(target.url), source, error,
                 outcome == Notifier::Outcome::failed ? "; given up" : "; will retry");
  MutexLock lock(mu_);
  for (auto& s : sources_) {
    if (s->cfg.repository != source) continue;
    auto& n = s->state.notify[target.url];
    if (outcome != Notifier::Outcome::retried && n.pending > 0) --n.pending;
    if (outcome == Notifier::Outcome::sent) {
      ++n.sent;
      n.last_sent = clock_.unix_now();
    } else {
      ++(outcome == Notifier::Outcome::failed ? n.failed : n.retried);
      n.last_error = error;
    }
  }
}

void OciSources::register_metrics() {
  auto& held = d_.metrics.gauge(metric::held);
  auto& last = d_.metrics.gauge(metric::last_check);
  auto& up = d_.metrics.gauge(metric::reachable);
  d_.metrics.add_collector([this, &held, &last, &up] {
    MutexLock lock(mu_);
    for (const auto& s : sources_) {
      const Labels l{{"source", s->cfg.repository}};
      std::size_t n = 0;
      for (const auto& [t, v] : s->state.versions) n += v.state != VersionState::State::ready;
      for (const auto& [t, ts] : s->state.tags) n += !ts.why.empty();
      held.set(l, static_cast<double>(n));
      last.set(l, static_cast<double>(s->state.checked_at));
      up.set(l, s->state.reached ? 1 : 0);
    }
  });
}

OciSources::~OciSources() {
  stop();
}

void OciSources::start() {
  if (sources_.empty()) return;
  loop_ = std::jthread([this](std::stop_token st) { loop(st); });
}

void OciSources::stop_soon() {
  stopping_ = true;
  loop_.request_stop();
  MutexLock lock(mu_);
  wake_.notify_all();
}

void OciSources::stop() {
  stop_soon();
  if (loop_.joinable()) loop_.join();
  {
    MutexLock lock(mu_);  // the checks in the pool end at their next step
    while (std::ranges::any_of(sources_, [](const auto& s) { return s->running; }))
      wake_.wait(lock);
  }
  notifier_.stop();
}

void OciSources::loop(std::stop_token st) {
  MutexLock lock(mu_);
  while (!st.stop_requested()) {
    Source* next = nullptr;
    for (auto& s : sources_)
      if (!s->running && (!next || s->due < next->due)) next = s.get();
    const auto now = std::chrono::steady_clock::now();
    if (!next) {
      wake_.wait(lock);  // every source is being checked: one ending wakes this
    } else if (next->due > now) {
      wake_.wait_until(lock, next->due);
    } else {
      next->running = true;
      next->due = now + next->cfg.interval;
      pool_.post([this, i = next->index] { run_check(i); });
    }
  }
}

void OciSources::run_check(std::size_t i) {
  try {
    check(i);
  } catch (const std::exception& e) {  // a check never takes the loop (and the daemon) down
    spdlog::error("sources: checking {} failed: {}", sources_[i]->cfg.repository, e.what());
  }
  MutexLock lock(mu_);
  sources_[i]->running = false;
  wake_.notify_all();
}

Result<void> OciSources::check_soon(const std::string& repository) {
  MutexLock lock(mu_);
  bool any = false;
  for (auto& s : sources_)
    if (repository.empty() || s->cfg.repository == repository) {
      s->due = std::chrono::steady_clock::now();
      any = true;
    }
  if (!any) return fail(Errc::not_found, fmt::format("no source follows '{}'", repository));
  wake_.notify_all();
  return {};
}

const OciSources::Source* OciSources::find(const std::string& upstream,
                                           const std::string& repo) const {
  for (const auto& s : sources_)
    if (s->upstream == upstream && s->repo == repo) return s.get();
  return nullptr;
}

registry::SourceView::TagAnswer OciSources::tag(const std::string& upstream,
                                                const std::string& repo,
                                                const std::string& tag) const {
  const Source* src = find(upstream, repo);
  if (!src) return TagAnswer();
  MutexLock lock(mu_);
  auto answer = answer_for(src->state, tag);
  if (answer.kind != TagAnswer::Kind::usual || !src->visible) return answer;
  // A version of a followed range upstream listed only after the last check: held until checked.
  auto v = SemVer::parse(tag);
  if (v && !src->snapshot.contains(tag) &&
      std::ranges::any_of(src->ranges, [&](const SemVerRange& r) { return r.matches(*v); }))
    return TagAnswer::hold(
        fmt::format("{} is held back by Outpost: it was not listed upstream at the last "
                    "check, and is advertised once checked",
                    tag));
  return answer;
}

std::optional<registry::SourceView::TagList> OciSources::tag_list(const std::string& upstream,
                                                                  const std::string& repo) const {
  const Source* src = find(upstream, repo);
  if (!src) return std::nullopt;
  MutexLock lock(mu_);
  if (!src->visible) return std::nullopt;
  return TagList{src->visible, src->state.listed_at, src->state.reached, src->state.last_error};
}

void OciSources::check(std::size_t i) {
  Source& src = *sources_.at(i);
  std::lock_guard one(src.check_mu);
  SourceState st;
  {
    MutexLock lock(mu_);
    st = src.state;
  }
  // The first listing sets the baseline: what it finds is advertised, and nobody is told.
  const bool first = st.listed_at == 0;
  const auto held_before = held_names(st);
  st.checked_at = clock_.unix_now();
  ++st.checks;
  auto listed = d_.mirror.list_upstream_tags(src.upstream, src.repo);
  d_.metrics.counter(metric::upstream_heads_total)
      .add({{"source", src.cfg.repository}, {"kind", "list"}});
  if (!listed) {
    st.reached = false;
    st.last_error = listed.error().message;
    d_.metrics.counter(metric::checks_total)
        .add({{"source", src.cfg.repository}, {"result", "unreachable"}});
    publish(i, std::move(st), {});
    return;
  }
  st.reached = true;
  st.last_error.clear();
  st.listed_at = clock_.unix_now();
  auto in_range = versions_in_range(*listed, src.ranges);
  st.newest_upstream = in_range.empty() ? "" : in_range.front();
  std::vector<std::string> changed;
  std::vector<Gated> pins;
  for (std::size_t k = 0; k < in_range.size() && k < static_cast<std::size_t>(src.cfg.keep); ++k)
    if (!stopping_ && check_version(src, st, in_range[k], pins)) changed.push_back(in_range[k]);
  for (const auto& t : src.literal)
    if (!stopping_ && check_tag(src, st, t)) changed.push_back(t);
  pin(src, st, pins);
  prune(src, st, *listed);
  d_.metrics.counter(metric::checks_total).add({{"source", src.cfg.repository}, {"result", "ok"}});
  if (auto held = held_names(st); !held.empty() && held != held_before)  // once per change
    spdlog::info("sources: {}: held back until what they need is local: {}", src.cfg.repository,
                 held);
  if (!first) notify(src, changed, st);
  publish(i, std::move(st), std::move(*listed));
}

bool OciSources::check_version(const Source& src, SourceState& st, const std::string& version,
                               std::vector<Gated>& pins) {
  auto& vs = st.versions[version];
  if (vs.state == VersionState::State::ready) return false;
  const auto now = clock_.unix_now();
  auto held = [&](std::string why) {
    if (vs.state != VersionState::State::held || vs.why != why) vs.since = now;
    vs.state = VersionState::State::held;
    vs.why = std::move(why);
    return false;
  };
  auto d = d_.mirror.resolve_upstream_tag(src.upstream, src.repo, version);
  d_.metrics.counter(metric::upstream_heads_total)
      .add({{"source", src.cfg.repository}, {"kind", "tag"}});
  if (!d) return held("resolving it upstream: " + d.error().message);
  vs.digest = *d;
  auto g = gate(src, *d);
  if (!g.ready) return held(std::move(g.why));
  vs = {VersionState::State::ready, *d, "", now};
  g.version = version;
  pins.push_back(std::move(g));
  spdlog::info("sources: {}:{} is advertised ({})", src.cfg.repository, version, d->str());
  return true;
}

bool OciSources::check_tag(const Source& src, SourceState& st, const std::string& tag) {
  auto& ts = st.tags[tag];
  auto d = d_.mirror.resolve_upstream_tag(src.upstream, src.repo, tag);
  d_.metrics.counter(metric::upstream_heads_total)
      .add({{"source", src.cfg.repository}, {"kind", "tag"}});
  if (!d) {
    ts.why = d.error().code == Errc::not_found ? "no such tag upstream" : d.error().message;
    return false;
  }
  ts.upstream = *d;
  if (ts.advertised == *d) {
    ts.why.clear();
    return false;
  }
  // Gated again even when a version has this digest: everything is local then, and the pin of
  // the tag needs the blobs.
  auto g = gate(src, *d);
  if (!g.ready) {
    ts.why = fmt::format("{} moved to {}: {}", tag, d->str(), g.why);
    return false;
  }
  pin_tag(src, tag, g);
  ts.advertised = *d;
  ts.why.clear();
  ts.moved_at = clock_.unix_now();
  spdlog::info("sources: {}:{} is advertised at {}", src.cfg.repository, tag, d->str());
  return true;
}

OciSources::Gated OciSources::keep_whole(const registry::Route& manifest) {
  Gated g;
  g.digest = *manifest.digest;
  auto m = d_.mirror.manifest(manifest);
  if (!m) {
    g.why = "fetching the artifact: " + m.error().message;
    return g;
  }
  g.blobs.push_back({m->digest, m->bytes.size(), m->media_type});
  if (auto info = registry::parse_manifest(m->bytes); info && info->manifests.empty()) {
    registry::Route blob = manifest;
    blob.kind = registry::Kind::blob;
    for (const auto& b : info->blobs) {
      blob.digest = b.digest;
      if (auto ok = d_.mirror.ensure_blob(blob); !ok) {
        g.why = ok.error().message;
        return g;
      }
      g.blobs.push_back({b.digest, b.size, ""});
    }
  }
  g.ready = true;
  return g;
}

OciSources::Gated OciSources::gate(const Source& src, const Digest& d) {
  Gated g;
  g.digest = d;
  auto why = [&g](std::string w) {
    g.why = std::move(w);
    return g;
  };
  registry::Route r;
  r.kind = registry::Kind::manifest;
  r.upstream = src.upstream;
  r.repo = src.repo;
  r.client_name = src.repo;
  r.digest = d;
  if (src.cfg.gate == SourceGate::none) return keep_whole(r);  // any artifact: not read
  auto fetched = bundle::fetch_source(d_.mirror, d_.store, r);
  if (!fetched) return why(fetched.error().message);
  g.blobs.push_back({d, fetched->manifest.bytes.size(), fetched->manifest.media_type});
  for (const auto& b : fetched->artifact.blobs) g.blobs.push_back({b.digest, b.size, ""});
  for (const auto& use : fetched->images) {
    if (stopping_) return why("stopping");
    auto p = gate::pull_image(d_.mirror, d_.registry, use.ref);
    if (!p.ready) return why(p.why);
    g.blobs.insert(g.blobs.end(), p.blobs.begin(), p.blobs.end());
    if (!use.ref.digest && !use.ref.tag.empty())
      g.tags.push_back({use.ref.registry, use.ref.repo, use.ref.tag, p.top});
  }
  g.ready = true;
  return g;
}

void OciSources::pin(const Source& src, const SourceState& st, const std::vector<Gated>& pins) {
  // Lowest version first (the order does not matter to retention, which goes by semver below).
  for (auto it = pins.rbegin(); it != pins.rend(); ++it) {
    ReleaseRecord rec;
    rec.name = src.release_name;
    rec.version = it->version;
    std::set<Digest> seen;
    for (const auto& b : it->blobs)
      if (seen.insert(b.digest).second) rec.blobs.push_back(b);
    rec.tags = it->tags;
    rec.tags.push_back({src.upstream, src.repo, it->version, it->digest});
    if (auto ok = d_.db.record_release(rec); !ok)
      spdlog::warn("sources: pinning {}:{} failed: {}", src.cfg.repository, it->version,
                   ok.error().message);
  }
  if (pins.empty()) return;
  // The newest `keep` advertised versions by semver (not by when each was pinned: a patch to an
  // older line pinned last is still older).
  std::vector<std::string> ready;
  for (const auto& [t, v] : st.versions)
    if (v.state == VersionState::State::ready) ready.push_back(t);
  auto newest = versions_in_range(ready, src.ranges);
  if (newest.size() > static_cast<std::size_t>(src.cfg.keep)) newest.resize(src.cfg.keep);
  if (auto dropped = d_.db.retain_releases(src.release_name, newest); dropped)
    for (const auto& v : *dropped)
      spdlog::info("sources: {}:{} is no longer kept pinned (keep {})", src.cfg.repository, v,
                   src.cfg.keep);
}

void OciSources::pin_tag(const Source& src, const std::string& tag, const Gated& g) {
  ReleaseRecord rec;
  rec.name = "source-tags:" + src.cfg.repository;
  rec.version = tag;
  std::set<Digest> seen;
  for (const auto& b : g.blobs)
    if (seen.insert(b.digest).second) rec.blobs.push_back(b);
  rec.tags = g.tags;
  if (auto ok = d_.db.record_release(rec); !ok)
    spdlog::warn("sources: pinning {}:{} failed: {}", src.cfg.repository, tag, ok.error().message);
}

void OciSources::prune(const Source& src, SourceState& st, const std::vector<std::string>& listed) {
  std::set<std::string> upstream(listed.begin(), listed.end());
  std::vector<std::string> ready;
  for (const auto& [t, v] : st.versions)
    if (v.state == VersionState::State::ready) ready.push_back(t);
  auto newest = versions_in_range(ready, src.ranges);
  if (newest.size() > static_cast<std::size_t>(src.cfg.keep)) newest.resize(src.cfg.keep);
  std::erase_if(st.versions, [&](const auto& kv) {
    return !upstream.contains(kv.first) && std::ranges::find(newest, kv.first) == newest.end();
  });
}

void OciSources::notify(const Source& src, const std::vector<std::string>& tags,
                        const SourceState& st) {
  for (const auto& tag : tags) {
    Digest d = Digest::from_hex(std::string(64, '0'));
    if (auto it = st.tags.find(tag); it != st.tags.end() && it->second.advertised)
      d = *it->second.advertised;
    else if (auto v = st.versions.find(tag); v != st.versions.end())
      d = v->second.digest;
    for (const auto& target : src.cfg.notify) {
      {
        MutexLock lock(mu_);
        ++sources_[src.index]->state.notify[target.url].pending;
      }
      notifier_.send(
          src.cfg.repository, target,
          notify_request(target, {src.cfg.repository, tag, d}, d_.public_host, clock_.unix_now()));
    }
  }
}

void OciSources::publish(std::size_t i, SourceState st, std::vector<std::string> snapshot) {
  {
    MutexLock lock(mu_);
    Source& src = *sources_[i];
    st.notify = src.state.notify;  // the sender updated these meanwhile
    src.state = std::move(st);
    if (src.state.reached) src.snapshot = {snapshot.begin(), snapshot.end()};
    if (src.state.reached || src.visible)
      src.visible = std::make_shared<const std::vector<std::string>>(visible_tags(
          std::vector<std::string>(src.snapshot.begin(), src.snapshot.end()), src.state));
  }
  save();
}

void OciSources::save() const {
  MutexLock one(save_mu_);
  json all = json::object();
  {
    MutexLock lock(mu_);
    for (const auto& s : sources_) all[s->cfg.repository] = state_json(s->state);
  }
  if (auto ok = write_file_atomically(d_.state_file, all.dump(1)); !ok)
    spdlog::warn("sources: saving {} failed: {}", d_.state_file.string(), ok.error().message);
}

}  // namespace outpost::sources
