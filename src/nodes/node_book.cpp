#include "nodes/node_book.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/duration.hpp"
#include "store/atomic_file.hpp"

namespace outpost::nodes {
namespace {

using nlohmann::json;
constexpr auto kSaveEvery = std::chrono::seconds(30);
constexpr std::size_t kMaxNodes = 10000;
constexpr std::size_t kMaxListed = 64;  // bypassing upstreams, canary upstreams kept per node

// A Kubernetes node name: a DNS subdomain (lower-case letters, digits, '-', '.'), 1..253.
bool valid_node_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '-' || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

// Short printable text from a client: at most 128 bytes, control characters dropped.
std::string clean(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 128))
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  return out;
}

std::int64_t secs(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
SystemTime from_secs(std::int64_t s) {
  return SystemTime(std::chrono::seconds(s));
}
json opt(const std::optional<SystemTime>& t) {
  return t ? json(secs(*t)) : json(nullptr);
}
std::optional<SystemTime> opt_time(const json& j, const char* k) {
  if (j.contains(k) && j[k].is_number_integer()) return from_secs(j[k].get<std::int64_t>());
  return std::nullopt;
}
std::string str(const json& j, const char* k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
}

std::optional<SystemTime> later(std::optional<SystemTime> a, std::optional<SystemTime> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

}  // namespace

std::string address_of(std::string_view remote) {
  std::string_view ip = remote;
  if (ip.starts_with('[')) {
    auto close = ip.find(']');
    ip = ip.substr(1, close == std::string_view::npos ? ip.size() - 1 : close - 1);
  } else if (auto colon = ip.rfind(':'); colon != std::string_view::npos) {
    ip = ip.substr(0, colon);  // the server writes <address>:<port>, an IPv6 address unbracketed
  }
  if (ip.starts_with("::ffff:") && ip.find('.') != std::string_view::npos) ip.remove_prefix(7);
  return std::string(ip);
}

NodeBook::NodeBook(NodesConfig cfg, std::filesystem::path state_file, const Clock& clock)
    : cfg_(cfg), file_(std::move(state_file)), clock_(clock) {
  load();
}

NodeBook::Address& NodeBook::address(const std::string& ip) {
  if (addresses_.size() >= cfg_.max_addresses && !addresses_.contains(ip)) {
    // Forget the address seen longest ago (a bounded map, so a flood of clients cannot grow it).
    auto oldest = std::min_element(addresses_.begin(), addresses_.end(), [](auto& a, auto& b) {
      return later(a.second.last_pull, a.second.last_canary) <
             later(b.second.last_pull, b.second.last_canary);
    });
    addresses_.erase(oldest);
  }
  return addresses_[ip];
}

void NodeBook::pulled(std::string_view remote) {
  bool due = false;
  {
    MutexLock lock(mu_);
    address(address_of(remote)).last_pull = clock_.system_now();
    dirty_ = true;
    due = claim_save(false);  // a manifest request writes the file at most every 30 s
  }
  if (due) write();
}

void NodeBook::canary(std::string_view remote, std::string_view tag, std::string_view upstream) {
  const auto ip = address_of(remote);
  const auto now = clock_.system_now();
  {
    MutexLock lock(mu_);
    address(ip).last_canary = now;
    // The node whose doctor announced this tag; else the node registered from this address.
    Node* node = nullptr;
    for (auto& [name, n] : nodes_)
      if (!tag.empty() && n.canary_tag == tag) node = &n;
    if (!node)
      for (auto& [name, n] : nodes_)
        if (n.addresses.contains(ip)) node = &n;
    if (node) {
      node->last_canary = now;
      if (node->canary_tag != tag) {
        node->canary_tag = std::string(tag);
        node->canary_upstreams.clear();
      }
      if (node->canary_upstreams.size() < kMaxListed)
        node->canary_upstreams.insert(std::string(upstream));
    }
    dirty_ = true;
  }
  save(true);
}

Result<void> NodeBook::report(std::string_view remote, NodeReport r) {
  if (!valid_node_name(r.name))
    return fail(Errc::invalid_argument,
                "node name must be a DNS name (lower-case letters, digits, '-' and '.')");
  {
    MutexLock lock(mu_);
    auto it = nodes_.find(r.name);
    if (it == nodes_.end()) {
      if (nodes_.size() >= kMaxNodes) return fail(Errc::too_large, "too many nodes registered");
      it = nodes_.emplace(r.name, Node{}).first;
      it->second.registered_at = clock_.system_now();
    }
    Node& n = it->second;
    n.addresses.insert(address_of(remote));
    n.runtime = clean(r.runtime);
    n.runtime_version = clean(r.runtime_version);
    n.reported_by = clean(r.reported_by);
    if (!r.canary_tag.empty() && r.canary_tag != n.canary_tag) {
      n.canary_tag = clean(r.canary_tag);
      n.canary_upstreams.clear();
    }
    n.bypassing.clear();
    for (const auto& b : r.bypassing)
      if (n.bypassing.size() < kMaxListed) n.bypassing.push_back(clean(b));
    dirty_ = true;
  }
  save(true);
  return {};
}

NodeView NodeBook::view(const std::string& name, const Node& n) const {
  NodeView v;
  v.name = name;
  v.registered = true;
  v.addresses.assign(n.addresses.begin(), n.addresses.end());
  v.registered_at = n.registered_at;
  for (const auto& a : n.addresses)
    if (auto it = addresses_.find(a); it != addresses_.end())
      v.last_pull = later(v.last_pull, it->second.last_pull);
  v.last_canary = n.last_canary;
  v.runtime = n.runtime;
  v.runtime_version = n.runtime_version;
  v.reported_by = n.reported_by;
  v.canary_tag = n.canary_tag;
  v.canary_upstreams.assign(n.canary_upstreams.begin(), n.canary_upstreams.end());
  v.bypassing = n.bypassing;
  const auto now = clock_.system_now();
  const auto seen = later(v.last_pull, v.last_canary);
  if (!v.bypassing.empty()) {
    v.flagged = true;
    v.why =
        fmt::format("its doctor found pulls of {} bypassing Outpost", fmt::join(v.bypassing, ", "));
  } else if (!seen) {
    v.flagged = true;
    v.why = "no pull or canary through Outpost since it registered";
  } else if (now - *seen > cfg_.stale_after) {
    v.flagged = true;
    v.why = fmt::format("no pull or canary through Outpost for {}",
                        format_duration(std::chrono::duration_cast<Millis>(now - *seen)));
  }
  return v;
}

std::vector<NodeView> NodeBook::list() const {
  MutexLock lock(mu_);
  std::vector<NodeView> out;
  std::set<std::string> claimed;
  for (const auto& [name, n] : nodes_) {
    out.push_back(view(name, n));
    claimed.insert(n.addresses.begin(), n.addresses.end());
  }
  std::vector<NodeView> clients;
  for (const auto& [ip, a] : addresses_) {
    if (claimed.contains(ip)) continue;
    NodeView v;
    v.name = ip;
    v.addresses = {ip};
    v.last_pull = a.last_pull;
    v.last_canary = a.last_canary;
    clients.push_back(std::move(v));
  }
  std::sort(clients.begin(), clients.end(), [](const NodeView& a, const NodeView& b) {
    return later(a.last_pull, a.last_canary) > later(b.last_pull, b.last_canary);
  });
  out.insert(out.end(), clients.begin(), clients.end());
  return out;
}

std::optional<NodeView> NodeBook::find(std::string_view name) const {
  MutexLock lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return view(it->first, it->second);
}

std::string NodeBook::snapshot() const {
  MutexLock lock(mu_);
  json nodes = json::array(), addrs = json::array();
  for (const auto& [name, n] : nodes_)
    nodes.push_back({{"name", name},
                     {"addresses", n.addresses},
                     {"registered_at", secs(n.registered_at)},
                     {"last_canary", opt(n.last_canary)},
                     {"runtime", n.runtime},
                     {"runtime_version", n.runtime_version},
                     {"reported_by", n.reported_by},
                     {"canary_tag", n.canary_tag},
                     {"canary_upstreams", n.canary_upstreams},
                     {"bypassing", n.bypassing}});
  for (const auto& [ip, a] : addresses_)
    addrs.push_back(
        {{"address", ip}, {"last_pull", opt(a.last_pull)}, {"last_canary", opt(a.last_canary)}});
  return json{{"nodes", nodes}, {"addresses", addrs}}.dump();
}

bool NodeBook::claim_save(bool now) {
  if (!dirty_ || (!now && clock_.steady_now() - saved_ < kSaveEvery)) return false;
  dirty_ = false;
  saved_ = clock_.steady_now();
  return true;
}

void NodeBook::save(bool now) {
  bool due = false;
  {
    MutexLock lock(mu_);
    due = claim_save(now);
  }
  if (due) write();
}

void NodeBook::write() {
  MutexLock one(save_mu_);  // each write takes its snapshot in turn: the last one is the newest
  if (auto w = write_file_atomically(file_, snapshot()); !w)
    spdlog::warn("nodes: cannot write {}: {}", file_.string(), w.error().message);
}

void NodeBook::load() {
  std::ifstream in(file_);
  if (!in) return;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    spdlog::warn("nodes: {} is unreadable; starting with no nodes", file_.string());
    return;
  }
  MutexLock lock(mu_);
  if (j.contains("nodes") && j["nodes"].is_array())
    for (const auto& e : j["nodes"]) {
      if (!e.is_object() || !valid_node_name(str(e, "name"))) continue;
      Node n;
      if (e.contains("addresses") && e["addresses"].is_array())
        for (const auto& a : e["addresses"])
          if (a.is_string()) n.addresses.insert(a.get<std::string>());
      n.registered_at = opt_time(e, "registered_at").value_or(clock_.system_now());
      n.last_canary = opt_time(e, "last_canary");
      n.runtime = str(e, "runtime");
      n.runtime_version = str(e, "runtime_version");
      n.reported_by = str(e, "reported_by");
      n.canary_tag = str(e, "canary_tag");
      if (e.contains("canary_upstreams") && e["canary_upstreams"].is_array())
        for (const auto& u : e["canary_upstreams"])
          if (u.is_string()) n.canary_upstreams.insert(u.get<std::string>());
      if (e.contains("bypassing") && e["bypassing"].is_array())
        for (const auto& b : e["bypassing"])
          if (b.is_string()) n.bypassing.push_back(b.get<std::string>());
      nodes_[str(e, "name")] = std::move(n);
    }
  if (j.contains("addresses") && j["addresses"].is_array())
    for (const auto& e : j["addresses"])
      if (e.is_object() && !str(e, "address").empty())
        addresses_[str(e, "address")] = {opt_time(e, "last_pull"), opt_time(e, "last_canary")};
}

}  // namespace outpost::nodes
