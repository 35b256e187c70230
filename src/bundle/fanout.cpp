#include "bundle/fanout.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "cluster/cluster.hpp"
#include "registry/route.hpp"

namespace outpost::bundle {

ReleaseFanout::ReleaseFanout(ReleaseJobs& jobs, cluster::Cluster& cluster, const Clock& clock)
    : jobs_(jobs), cluster_(cluster), clock_(clock) {
  if (enabled()) poller_ = std::jthread([this](std::stop_token st) { poll_peers(st); });
}

ReleaseFanout::~ReleaseFanout() {
  stop();
}

bool ReleaseFanout::enabled() const {
  return cluster_.enabled();
}

void ReleaseFanout::stop() {
  stopping_ = true;
  if (poller_.joinable()) {
    poller_.request_stop();
    poller_.join();
  }
}

std::map<std::string, std::vector<ReleaseFanout::PeerRelease>> ReleaseFanout::peer_releases()
    const {
  MutexLock lock(peers_mu_);
  return peer_releases_;
}

void ReleaseFanout::poll_peers(std::stop_token st) {
  while (!st.stop_requested() && clock_.sleep_for(std::chrono::seconds(2), stopping_)) {
    std::map<std::string, std::vector<PeerRelease>> seen;
    for (const auto& peer : cluster_.live_peers()) {
      http::ClientRequest req;
      req.url = "/api/v1/releases";
      auto r = cluster_.send(peer, std::move(req));
      if (!r || r->status != 200) continue;
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (!j.is_object() || !j.contains("releases") || !j["releases"].is_array()) continue;
      auto& list = seen[peer.source->url()];
      for (const auto& x : j["releases"])
        if (x.is_object())
          list.push_back({x.value("name", ""), x.value("version", ""), x.value("state", "")});
    }
    MutexLock lock(peers_mu_);
    peer_releases_ = std::move(seen);
  }
}

void ReleaseFanout::after_start(const std::string& name, const std::string& version) {
  if (!enabled()) return;
  {
    MutexLock lock(mu_);
    if (!pending_.insert({name, version}).second) return;
  }
  pool_.post([this, name, version] {
    fan_out(name, version);
    MutexLock lock(mu_);
    pending_.erase({name, version});
  });
}

void ReleaseFanout::fan_out(const std::string& name, const std::string& version) {
  for (;;) {  // until ready here (or failed, or shutting down)
    auto st = jobs_.status(name, version).state;
    if (st == ReleaseState::ready) break;
    if (st == ReleaseState::failed || st == ReleaseState::unknown) return;
    if (!clock_.sleep_for(std::chrono::milliseconds(200), stopping_)) return;
  }
  const std::string source =
      fmt::format("oci://{}/{}:{}", registry::kReleasesNamespace, name, version);
  const std::string body =
      nlohmann::json({{"source", source}, {"name", name}, {"version", version}}).dump();
  for (const auto& peer : cluster_.live_peers()) {
    if (stopping_) return;
    http::ClientRequest req;
    req.method = "POST";
    req.url = "/api/v1/releases";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body;
    auto r = cluster_.send(peer, std::move(req));
    if (!r || r->status >= 300)
      spdlog::warn(
          "cluster: release {} {}: peer {} did not take it: {}", name, version, peer.source->url(),
          r ? fmt::format("HTTP {}: {}", r->status, r->body.substr(0, 200)) : r.error().message);
    else
      spdlog::info("cluster: release {} {}: peer {} is taking it", name, version,
                   peer.source->url());
  }
}

nlohmann::json ReleaseFanout::replicas(const std::string& name, const std::string& version,
                                       const ReleaseStatus& mine) {
  auto all = nlohmann::json::array();
  auto own = nlohmann::json::parse(mine.to_json());
  own["replica"] = cluster_.self();
  all.push_back(own);
  std::map<std::string, cluster::PeerRef> live;
  for (const auto& p : cluster_.live_peers()) live.emplace(p.source->url(), p);
  for (const auto& h : cluster_.health()) {
    if (!h.member) continue;
    nlohmann::json entry{{"replica", h.source.url}};
    auto it = live.find(h.source.url);
    if (it == live.end()) {
      entry["state"] = "unreachable";
      entry["error"] = h.source.state.last_error;
      all.push_back(entry);
      continue;
    }
    http::ClientRequest req;
    req.url = fmt::format("/api/v1/releases/{}/{}", name, version);
    auto r = cluster_.send(it->second, std::move(req));
    auto j = r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
    if (r && r->status == 404) {
      entry["state"] = "unknown";
    } else if (!r || r->status != 200 || !j.is_object()) {
      entry["state"] = "unreachable";
      entry["error"] = r ? fmt::format("HTTP {}", r->status) : r.error().message;
    } else {
      entry.update(j);
    }
    all.push_back(entry);
  }
  return all;
}

}  // namespace outpost::bundle
