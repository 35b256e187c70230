#pragma once
// One bare mirror of an upstream repository under <data>/git/<host>/<path>.git.
//
// Sync (`git fetch --prune --force` of heads and tags) is single-flight: a second caller joins the
// running fetch. Before a sync force-moves or deletes a ref, the old tip is kept under the hidden
// namespace refs/outpost/retained/ (never advertised, never pruned), so a commit a client has
// seen stays fetchable by SHA. The ref advertisement is cached per protocol version and dropped
// when a sync changes refs. Thread-safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "git/config.hpp"
#include "git/git_runner.hpp"
#include "git/ref_advert.hpp"
#include "git/repo_path.hpp"
#include "upstream/config.hpp"

namespace outpost::git {

struct RefMove {
  std::string ref;
  std::string before;  // "" when created
  std::string after;   // "" when deleted
};

// Gating: whether commit `commit` of a mirror may be advertised yet (its images or release are
// local). `waiting_for` says what it still waits for.
struct GateResult {
  bool ready;
  std::string waiting_for;
};
class GitMirror;
using GateFn = std::function<GateResult(const GitMirror& mirror, const std::filesystem::path& repo,
                                        const std::string& commit)>;

struct PendingRef {
  std::string ref, commit, waiting_for;
};

struct SyncOutcome {
  std::vector<RefMove> moved;  // empty when nothing changed
  // The source's advertisement matched the mirror's: no git process ran.
  bool unchanged = false;
};

class GitMirror {
 public:
  // `clock` stamps the status (last attempt, last success).
  GitMirror(RepoId id, std::filesystem::path dir, std::filesystem::path staging_root,
            const HostUpstreamConfig& upstream, const GitConfig& cfg,
            const Clock& clock = Clock::system());

  const RepoId& id() const { return id_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string upstream_url() const;

  // True once an initial clone has completed (the directory exists).
  bool cloned() const;

  // Where one sync fetches from.
  struct From {
    std::string url;       // the repository on that source (source_url())
    std::string source;    // the source's own URL, for the status
    std::string failover;  // why sources before it were passed over ("" when none was)
    // Git config for talking to it (a peer replica: its token and the peer marker).
    std::vector<std::pair<std::string, std::string>> config{};
    // When set, the sync's first step (one request): what the source advertises now, nullopt when
    // it could not be read (a full sync then decides); an error ends the sync. Equal to what the
    // mirror last fetched from `url`, the sync ends there; its HEAD spares an ls-remote.
    std::function<Result<std::optional<RefAdvert>>()> read_refs{};
  };
  // One sync, which may try several sources: `sources` calls the attempt it is given with each
  // source it tries, in order, and returns the outcome (an attempt's, or why none was tried). An
  // attempt fetches from its source (the initial clone when needed) unless the source's
  // advertisement shows nothing moved. Single-flight: a caller while a sync runs joins it and gets
  // its outcome; "syncing" covers every attempt; on success the status names the source used.
  using Attempt = std::function<Result<SyncOutcome>(const From&)>;
  using Sources = std::function<Result<SyncOutcome>(const Attempt&)>;
  Result<SyncOutcome> sync(const std::atomic<bool>& stop, const Sources& sources);
  // The repository's URL on source `i` of its upstream: mirrors in configured order, then the
  // origin (the order of upstream::SourceList).
  std::string source_url(std::size_t i) const;
  // Sync generation: bumps each time a sync ends. wait_sync_after waits (up to budget) for the
  // first sync to end after generation `gen`; true if one did.
  std::uint64_t sync_generation() const;
  bool wait_sync_after(std::uint64_t gen, std::chrono::milliseconds budget);
  bool syncing() const;

  // The body of an info/refs response for protocol version 0 (service header + upload-pack's ref
  // advertisement) or 2 (capabilities). Cached until a sync moves a ref.
  Result<std::shared_ptr<const std::string>> info_refs_body(int protocol_version);
  // The sha256 of the v0 advertisement: the mirror's advertised state (the pack cache's key),
  // hashed once per advertisement, not per fetch.
  Result<Digest> advertised_state();

  struct Status {
    std::optional<std::chrono::system_clock::time_point> last_success;
    std::optional<std::chrono::system_clock::time_point> last_attempt;
    std::string last_error;
    std::size_t ref_count = 0;
    std::string head;                 // symbolic target of HEAD
    std::string head_commit;          // the commit advertised for it
    std::vector<PendingRef> pending;  // gated: upstream commits not advertised yet
    std::string synced_from;          // the source URL of the last successful sync
    std::string failover;             // why sources before it were passed over ("" if none)
  };
  Status status() const;
  // Bytes the mirror takes on disk: measured after a sync that changed it, not per call.
  std::uint64_t disk_bytes();
  // Gated mirrors fetch into refs/outpost/upstream/ and advance refs/heads|tags to an upstream
  // commit only when `gate` says it is ready; until then the previous commit stays advertised.
  void set_gate(GateFn gate) { gate_ = std::move(gate); }
  bool gated() const { return static_cast<bool>(gate_); }
  // Runs git with `args` in `repo` (this mirror, or its staging clone): read-only helpers for
  // gates (ls-tree, show). A non-zero exit is `on_exit`.
  Result<std::string> git_output(const std::filesystem::path& repo,
                                 const std::vector<std::string>& args,
                                 Errc on_exit = Errc::not_found) const;

  // Restores persisted state at start-up.
  void restore(std::optional<std::chrono::system_clock::time_point> last_success,
               std::string last_error);

 private:
  Result<SyncOutcome> run_sync(const std::atomic<bool>& stop, const From& from);
  void set_source_locked(const From& from) REQUIRES(mu_);
  Result<void> init_staging(const std::filesystem::path& staging);
  Result<std::map<std::string, std::string>> list_refs(const std::filesystem::path& repo,
                                                       const std::vector<std::string>& prefixes = {
                                                           "refs/heads/", "refs/tags/"});
  // Gated sync: which advertised refs to move, given upstream's tips. Returns update-ref lines.
  std::string gate_updates(const std::filesystem::path& repo,
                           const std::map<std::string, std::string>& advertised,
                           const std::map<std::string, std::string>& upstream,
                           std::vector<PendingRef>& pending);
  Result<void> fetch(const std::filesystem::path& repo, const From& from,
                     const std::atomic<bool>& stop);
  // Points HEAD where upstream's HEAD points; returns that ref ("" when unknown).
  std::string follow_head(const std::filesystem::path& repo, const From& from,
                          const std::optional<RefAdvert>& advert, const std::atomic<bool>& stop);
  // True when `advert` is what the last full sync from `url` saw and no gated ref waits.
  bool unchanged(const std::string& url, const std::optional<RefAdvert>& advert) const;
  // The first sync after a start (nothing held yet, not gated): true, and `advert` held as seen,
  // when the mirror's own heads, tags and HEAD already are what `advert` says (one for-each-ref,
  // no fetch).
  bool matches_local(const std::string& url, const std::optional<RefAdvert>& advert);
  // The clone or fetch itself, once the advertisement showed a change (or none was read).
  Result<SyncOutcome> fetch_sync(const std::atomic<bool>& stop, const From& from,
                                 const std::optional<RefAdvert>& advert);
  // Gated: advances the advertised refs the gate lets through; returns the ones held back.
  Result<std::vector<PendingRef>> pass_gate(const std::filesystem::path& repo,
                                            const std::map<std::string, std::string>& before);
  // Keeps every tip that moved or vanished under refs/outpost/retained/; returns the moves.
  SyncOutcome retain_old_tips(const std::filesystem::path& repo,
                              const std::map<std::string, std::string>& before,
                              const std::map<std::string, std::string>& after);
  Result<void> apply_ref_script(const std::filesystem::path& repo, const std::string& script);
  void maintain(const std::filesystem::path& repo, bool first, bool refs_moved,
                const std::atomic<bool>& stop);

  const RepoId id_;
  const std::filesystem::path dir_;
  const std::filesystem::path staging_root_;
  const HostUpstreamConfig& upstream_;
  const GitConfig& cfg_;
  const Clock& clock_;
  const GitRunner git_;  // talks to this mirror's upstream
  GateFn gate_;          // empty: not gated

  mutable Mutex mu_;
  std::condition_variable_any cv_;
  bool syncing_ GUARDED_BY(mu_) = false;
  std::optional<Result<SyncOutcome>> last_ GUARDED_BY(mu_);  // result of the latest sync
  std::uint64_t sync_gen_ GUARDED_BY(mu_) = 0;               // bumps when a sync ends
  Status status_ GUARDED_BY(mu_);
  // advertised_state(): the advertisement last hashed, and its digest.
  std::optional<std::pair<std::shared_ptr<const std::string>, Digest>> state_ GUARDED_BY(mu_);
  std::map<int, std::shared_ptr<const std::string>> adverts_
      GUARDED_BY(mu_);                          // protocol version -> bytes
  std::uint64_t refs_gen_ GUARDED_BY(mu_) = 0;  // bumps when refs change
  // The source URL and advertisement of the last full sync that succeeded (nullopt after a
  // failed one: the next sync runs in full).
  std::optional<std::pair<std::string, RefAdvert>> seen_ GUARDED_BY(mu_);
  std::optional<std::uint64_t> bytes_ GUARDED_BY(mu_);  // disk_bytes(); reset when refs move
};

}  // namespace outpost::git
