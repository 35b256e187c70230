#pragma once
// Shares one `git upload-pack` run between identical fetches and keeps its response for the
// fetches that follow (Gitaly's pack-objects cache, for Outpost's mirrors).
//
// A fetch's response is determined by the repository's advertised state and the canonical request
// (git/pack_key.hpp); the caller hashes both into the key, so a sync that moves a ref makes new
// keys and nothing stale is ever served. Identical concurrent fetches share one run: its output is
// teed to a temp file under <data_dir>/git-packs/tmp, every client streams from that file as it
// grows (a late joiner from its start), and a client that goes away does not stop the run. When
// upload-pack exits 0 the file is published as the key's entry — if the key was asked for
// `min_requests` times or more, or by more than one client while it ran (most responses are never
// read twice: writing them all would cost disk for nothing) — and otherwise dropped; a failed run
// is never served again and its clients' responses are cut (no final chunk), so git reports an
// error rather than a truncated pack. Entries are bounded by max_bytes (least recently used go
// first) and ttl; watermark GC empties the cache before it evicts any blob. Thread-safe.
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/process.hpp"
#include "core/time.hpp"
#include "git/config.hpp"
#include "http/message.hpp"

namespace outpost::git {

class PackRun;

// What starts one upload-pack run: the process (its stdout is the response) and what to do when
// it has ended (release its concurrency slot).
struct StartedPack {
  Process proc;
  std::function<void()> on_end;
};

class PackCache {
 public:
  PackCache(const PackCacheConfig& cfg, std::filesystem::path dir, Metrics& metrics,
            const Clock& clock = Clock::system());
  ~PackCache();  // waits for the runs in progress
  PackCache(const PackCache&) = delete;
  PackCache& operator=(const PackCache&) = delete;

  // The response body for `key`: the published entry (a file), the run in progress (joined), or
  // a new run from `start`.
  Result<http::Response> serve(const std::string& key,
                               const std::function<Result<StartedPack>()>& start);
  // Frees at least `bytes` (least recently used first; 0: everything not being served). Returns
  // the bytes freed.
  std::uint64_t evict(std::uint64_t bytes);

  struct Stats {
    std::uint64_t entries = 0, bytes = 0;            // kept now
    std::uint64_t hits = 0, joined = 0, misses = 0;  // fetches since start, by how served
    std::uint64_t served_bytes = 0;                  // from kept responses and shared runs
  };
  Stats stats();

 private:
  friend class PackRun;
  struct Entry {
    std::uint64_t size;
    std::chrono::steady_clock::time_point created, used;
  };
  // Called by a run when upload-pack has ended: publishes or drops its file.
  void finished(const std::string& key, PackRun& run, bool ok);
  void evict_locked(std::uint64_t target_bytes) REQUIRES(mu_);
  void load();  // entries left by an earlier process; tmp/ emptied

  const PackCacheConfig& cfg_;
  const std::filesystem::path dir_, tmp_;
  const Clock& clock_;
  MetricFamily &requests_, &runs_, &saved_, &served_bytes_;
  Mutex mu_;
  std::condition_variable_any idle_;
  std::map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::uint64_t bytes_ GUARDED_BY(mu_) = 0;
  std::map<std::string, std::shared_ptr<PackRun>> running_ GUARDED_BY(mu_);
  std::unordered_map<std::string, int> sightings_ GUARDED_BY(mu_);
  std::uint64_t hits_ GUARDED_BY(mu_) = 0, joined_ GUARDED_BY(mu_) = 0, misses_ GUARDED_BY(mu_) = 0,
                      served_ GUARDED_BY(mu_) = 0;
};

}  // namespace outpost::git
