#include "cluster/cluster.hpp"

#include "upstream/ask.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "cluster/hrw.hpp"

namespace outpost::cluster {
namespace {

// A replica URL for a resolved address: http://10.0.0.7:8080, http://[fd00::7]:8080.
Result<std::vector<std::string>> resolve_system(const std::string& scheme, const std::string& host,
                                                const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return fail(Errc::not_found, fmt::format("resolving {}: {}", host, ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> hold(res, ::freeaddrinfo);
  std::set<std::string> urls;
  for (auto* a = res; a; a = a->ai_next) {
    char ip[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, ip, sizeof ip, nullptr, 0, NI_NUMERICHOST) != 0)
      continue;
    std::string text(ip);
    urls.insert(fmt::format("{}://{}:{}", scheme,
                            text.find(':') == std::string::npos ? text : "[" + text + "]", port));
  }
  return std::vector<std::string>(urls.begin(), urls.end());
}

std::optional<std::string> peer_token(const AuthConfig& auth) {
  for (const auto& t : auth.tokens)
    if (std::ranges::find(t.groups, AuthGroup::peer) != t.groups.end()) return "Bearer " + t.value;
  return std::nullopt;
}

}  // namespace

Cluster::Cluster(const ClusterConfig& cfg, const AuthConfig& auth, http::HttpClient& client,
                 const Clock& clock, Resolve resolve)
    : cfg_(cfg),
      client_(client),
      clock_(clock),
      resolve_(std::move(resolve)),
      token_(peer_token(auth)) {
  if (!resolve_) {
    std::string scheme = cfg_.advertise.starts_with("https://") ? "https" : "http";
    resolve_ = [scheme](const std::string& host, const std::string& port) {
      return resolve_system(scheme, host, port);
    };
  }
  if (!cfg_.peers.empty()) set_members(cfg_.peers);
  if (!cfg_.peers_dns.empty()) refresh_members();
}

Cluster::~Cluster() {
  stop();
}

void Cluster::start() {
  if (!enabled() || thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { loop(st); });
}

void Cluster::stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

std::size_t Cluster::id_for(const std::string& url) {
  if (auto it = by_url_.find(url); it != by_url_.end()) return it->second;
  upstream::SourceSpec spec{url, upstream::Role::peer, url.starts_with("http://")};
  peers_.push_back(std::make_unique<upstream::Source>(
      std::move(spec), upstream::BreakerPolicy{cfg_.breaker_min_backoff, cfg_.breaker_max_backoff},
      client_, stopping_, clock_));
  by_url_.emplace(url, peers_.size() - 1);
  return peers_.size() - 1;
}

void Cluster::set_members(std::vector<std::string> urls) {
  std::erase(urls, cfg_.advertise);
  std::ranges::sort(urls);
  urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
  MutexLock lock(mu_);
  std::vector<std::size_t> ids;
  for (const auto& u : urls) ids.push_back(id_for(u));
  if (ids != members_) {
    std::vector<std::string> shown;
    for (auto id : ids) shown.push_back(peers_[id]->url());
    spdlog::info("cluster: this replica is {}; peers: {}", cfg_.advertise,
                 shown.empty() ? "none" : fmt::format("{}", fmt::join(shown, ", ")));
  }
  members_ = std::move(ids);
}

void Cluster::refresh_members() {
  if (cfg_.peers_dns.empty()) return;
  auto colon = cfg_.peers_dns.rfind(':');
  auto urls = resolve_(cfg_.peers_dns.substr(0, colon), cfg_.peers_dns.substr(colon + 1));
  if (!urls) {
    // Keep the last membership: a resolver hiccup must not make every replica its own owner.
    spdlog::warn("cluster: {}; keeping the last peers", urls.error().message);
    return;
  }
  auto all = cfg_.peers;
  all.insert(all.end(), urls->begin(), urls->end());
  set_members(std::move(all));
}

std::vector<PeerRef> Cluster::ahead_of_self(std::string_view key) const {
  if (!enabled()) return {};
  std::vector<std::string> urls;
  std::vector<PeerRef> refs;
  {
    MutexLock lock(mu_);
    for (auto id : members_) {
      urls.push_back(peers_[id]->url());
      refs.push_back({id, peers_[id].get()});
    }
  }
  urls.push_back(cfg_.advertise);
  std::vector<PeerRef> out;
  for (auto i : hrw_order(urls, key)) {
    if (i == refs.size()) break;  // this replica's own rank: it goes upstream itself
    if (!refs[i].source->breaker().is_open()) out.push_back(refs[i]);
  }
  return out;
}

std::vector<PeerAsk> Cluster::ask_order(std::string_view key, Asking asking) const {
  std::vector<PeerAsk> out;
  if (asking == Asking::none) return out;
  std::set<std::size_t> asked;
  if (asking == Asking::owners_first)
    for (const auto& p : ahead_of_self(key)) {
      out.push_back({p, false});
      asked.insert(p.id);
    }
  for (const auto& p : live_peers())
    if (!asked.contains(p.id)) out.push_back({p, true});
  return out;
}

bool Cluster::owns(std::string_view key) const {
  std::vector<std::string> urls;
  {
    MutexLock lock(mu_);
    for (auto id : members_) urls.push_back(peers_[id]->url());
  }
  urls.push_back(cfg_.advertise);
  return hrw_order(urls, key).front() == urls.size() - 1;
}

std::optional<PeerRef> Cluster::first_peer(std::string_view key) const {
  auto live = live_peers();
  if (live.empty()) return std::nullopt;
  std::vector<std::string> urls;
  for (const auto& p : live) urls.push_back(p.source->url());
  return live[hrw_order(urls, key).front()];
}

std::vector<PeerRef> Cluster::live_peers() const {
  MutexLock lock(mu_);
  std::vector<PeerRef> out;
  for (auto id : members_)
    if (!peers_[id]->breaker().is_open()) out.push_back({id, peers_[id].get()});
  return out;
}

Result<http::ClientResponse> Cluster::request(upstream::Source& peer, http::ClientRequest req,
                                              http::BodySink* sink, bool held_only) {
  req.headers.emplace_back(kPeerHeader, cfg_.advertise);
  if (held_only) req.headers.emplace_back(kPeerLocalHeader, "1");
  req.connect_timeout = cfg_.peer_timeout;
  if (req.stall_timeout.count() == 0 && req.total_timeout.count() == 0)
    req.total_timeout = cfg_.peer_timeout;
  auto authorize = [this] { return token_; };
  return peer.send(std::move(req), sink, authorize);
}

Result<http::ClientResponse> Cluster::send(const PeerRef& p, http::ClientRequest req,
                                           http::BodySink* sink, bool held_only) {
  auto r = request(*p.source, std::move(req), sink, held_only);
  upstream::note(*p.source, r, "cluster");
  return r;
}

std::vector<PeerHealth> Cluster::health() const {
  MutexLock lock(mu_);
  std::vector<PeerHealth> out;
  for (std::size_t id = 0; id < peers_.size(); ++id)
    out.push_back({peers_[id]->health(), std::ranges::find(members_, id) != members_.end()});
  return out;
}

void Cluster::probe(upstream::Source& src) {
  http::ClientRequest req;
  req.url = "/healthz";
  req.connect_timeout = cfg_.peer_timeout;
  req.total_timeout = cfg_.peer_timeout;
  auto r = src.send(req, nullptr, [this] { return token_; });
  if (r && r->status == 200)
    upstream::record(src, {upstream::Verdict::answer}, "cluster");
  else
    upstream::record(
        src,
        {upstream::Verdict::down, r ? fmt::format("probe: HTTP {}", r->status) : r.error().message},
        "cluster");
}

void Cluster::probe_due() {
  std::vector<upstream::Source*> due;
  {
    MutexLock lock(mu_);
    for (auto id : members_)
      if (peers_[id]->breaker().claim_probe()) due.push_back(peers_[id].get());
  }
  for (auto* src : due) probe(*src);
}

std::size_t Cluster::probe_down_now() {
  std::vector<upstream::Source*> down;
  {
    MutexLock lock(mu_);
    for (auto id : members_)
      if (peers_[id]->breaker().is_open()) down.push_back(peers_[id].get());
  }
  std::size_t up = 0;
  for (auto* src : down) {
    probe(*src);
    up += !src->breaker().is_open();
  }
  return up;
}

void Cluster::loop(std::stop_token st) {
  auto next_dns = clock_.steady_now() + cfg_.dns_interval;
  while (!st.stop_requested() && !stopping_) {
    if (!clock_.sleep_for(std::chrono::milliseconds(250), stopping_)) break;
    probe_due();
    if (clock_.steady_now() >= next_dns) {
      refresh_members();
      next_dns = clock_.steady_now() + cfg_.dns_interval;
    }
  }
}

}  // namespace outpost::cluster
