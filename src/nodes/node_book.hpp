#pragma once
// Which nodes pull through Outpost. Every client address that fetches a manifest is remembered
// with the time of its last pull; `outpost doctor` and `outpost node-config --register` register
// a node by name (its address is the one the registration came from) with its runtime and what
// the doctor found. A canary pull (nodes/canary.hpp) is recorded for the node whose doctor
// announced its tag, under each upstream name it came through. A registered node is flagged when
// its doctor found an upstream that bypasses Outpost, when it never pulled through Outpost, or
// when its last pull or canary is older than nodes.stale_after. Kept in a small JSON file in the
// data directory (written at once on a registration or a canary, at most every 30 s for pulls),
// so a restart keeps what was seen. Thread-safe.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "nodes/config.hpp"

namespace outpost::nodes {

using SystemTime = std::chrono::system_clock::time_point;

// What a node says of itself (POST /api/v1/nodes).
struct NodeReport {
  std::string name;                    // the Kubernetes node name (or the host name)
  std::string runtime;                 // containerd | k3s | cri-o
  std::string runtime_version;         // as the runtime reports it
  std::string reported_by;             // doctor | node-config
  std::string canary_tag;              // the tag its canary pulls will ask for ("" when none)
  std::vector<std::string> bypassing;  // upstreams whose pulls would not go through Outpost
};

struct NodeView {
  std::string name;  // the registered name, or the address of a client that never registered
  bool registered = false;
  std::vector<std::string> addresses;
  std::optional<SystemTime> registered_at, last_pull, last_canary;
  std::string runtime, runtime_version, reported_by;
  std::string canary_tag;                     // the last canary's tag
  std::vector<std::string> canary_upstreams;  // upstreams that canary came through
  std::vector<std::string> bypassing;
  bool flagged = false;
  std::string why;  // why it is flagged, for people
};

// The IP of a peer address as the server gives it, <address>:<port> ("10.0.0.5:41234",
// "fd00::5:80" or "[fd00::5]:80" -> "fd00::5", "::ffff:10.0.0.5:41234" -> "10.0.0.5").
std::string address_of(std::string_view remote);

class NodeBook {
 public:
  // `state_file` may not exist yet; an unreadable one is logged and started afresh.
  NodeBook(NodesConfig cfg, std::filesystem::path state_file, const Clock& clock = Clock::system());

  // A manifest fetch from `remote`.
  void pulled(std::string_view remote);
  // A canary manifest fetch with `tag` under upstream name `upstream`, from `remote`.
  void canary(std::string_view remote, std::string_view tag, std::string_view upstream);
  // Registers or updates node r.name (Errc::invalid_argument for a name that is not a DNS name).
  Result<void> report(std::string_view remote, NodeReport r);
  // Registered nodes by name, then unregistered client addresses, most recent pull first.
  std::vector<NodeView> list() const;
  std::optional<NodeView> find(std::string_view name) const;

 private:
  struct Address {
    std::optional<SystemTime> last_pull, last_canary;
  };
  struct Node {
    std::set<std::string> addresses;
    SystemTime registered_at;
    std::optional<SystemTime> last_canary;
    std::string runtime, runtime_version, reported_by, canary_tag;
    std::set<std::string> canary_upstreams;
    std::vector<std::string> bypassing;
  };
  NodeView view(const std::string& name, const Node& n) const REQUIRES(mu_);
  Address& address(const std::string& ip) REQUIRES(mu_);
  void load();
  // Writes the state file when it changed and `now`, or 30 s have passed since the last write.
  void save(bool now);
  // Whether a write is due (and claims it).
  bool claim_save(bool now) REQUIRES(mu_);
  void write();
  std::string snapshot() const;

  const NodesConfig cfg_;
  const std::filesystem::path file_;
  const Clock& clock_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Address> addresses_ GUARDED_BY(mu_);
  std::map<std::string, Node, std::less<>> nodes_ GUARDED_BY(mu_);
  bool dirty_ GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point saved_ GUARDED_BY(mu_){};
  Mutex save_mu_;  // one write of the file at a time, each with the newest state
};

}  // namespace outpost::nodes
