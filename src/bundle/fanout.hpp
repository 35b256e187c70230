#pragma once
// Releases across the replicas of a site cluster (docs/cluster.md). A release a client asks of
// one replica (POST /api/v1/releases) is imported there; once it is ready there, every live peer
// is asked (with the peer marker, so it goes no further) to take it from the cluster — source
// oci://outpost.releases/<name>:<version>, whose blobs come from the replicas that hold them — so
// the WAN carries the bundle once. A release's status lists every replica. Pins and GC stay per
// replica. Thread-safe.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "bundle/jobs.hpp"
#include "core/mutex.hpp"
#include "core/thread_pool.hpp"

namespace outpost::cluster {
class Cluster;
}

namespace outpost::bundle {

class ReleaseFanout {
 public:
  ReleaseFanout(ReleaseJobs& jobs, cluster::Cluster& cluster, const Clock& clock = Clock::system());
  ~ReleaseFanout();
  ReleaseFanout(const ReleaseFanout&) = delete;
  ReleaseFanout& operator=(const ReleaseFanout&) = delete;

  bool enabled() const;
  // After a client's start of name/version here: once it is ready here, the live peers are asked
  // to take it. One fan-out per release at a time.
  void after_start(const std::string& name, const std::string& version);
  // Each replica's status of name/version, this one's (`mine`) first; a peer that cannot be asked
  // is {"replica": url, "state": "unreachable", "error": …}.
  nlohmann::json replicas(const std::string& name, const std::string& version,
                          const ReleaseStatus& mine);
  // The releases each live peer reported last (polled every 2 s in the background), by peer URL:
  // for the status page and readiness ("not ready on every live replica").
  struct PeerRelease {
    std::string name, version, state;
  };
  std::map<std::string, std::vector<PeerRelease>> peer_releases() const;
  void stop();

 private:
  void fan_out(const std::string& name, const std::string& version);
  void poll_peers(std::stop_token st);

  ReleaseJobs& jobs_;
  cluster::Cluster& cluster_;
  const Clock& clock_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  std::set<std::pair<std::string, std::string>> pending_ GUARDED_BY(mu_);
  mutable Mutex peers_mu_;
  std::map<std::string, std::vector<PeerRelease>> peer_releases_ GUARDED_BY(peers_mu_);
  ThreadPool pool_{2};  // last: joined before the members above go
  std::jthread poller_;
};

}  // namespace outpost::bundle
