#pragma once
// The followed OCI sources (sources.oci[]): for each, on its interval and single-flight (up to
// four sources at a time, so a long gate holds back only its own source), one
// background check lists the repository's tags upstream (the snapshot clients list, offline too)
// and resolves each followed tag with one HEAD; a moved tag or a new version in a followed range
// is gated (its artifact read, the images its manifests name pulled through the mirror) before it
// is advertised; the newest `keep` versions are pinned with their images like a release; and the
// notify targets are told what is advertised anew. Clients polling a followed tag or listing the
// tags are answered from here (registry::SourceView) and cost the origin nothing.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/thread_pool.hpp"
#include "http/client.hpp"
#include "registry/config.hpp"
#include "registry/mirror.hpp"
#include "registry/source_config.hpp"
#include "registry/source_view.hpp"
#include "sources/notify.hpp"
#include "sources/source_state.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::sources {

struct SourcesDeps {
  const SourcesConfig& cfg;
  const RegistryConfig& registry;
  std::string public_host;  // how clients reach Outpost ("outpost.example:8443")
  registry::Mirror& mirror;
  BlobStore& store;
  MetaDb& db;
  http::HttpClient& client;
  Metrics& metrics;
  std::filesystem::path state_file;
  std::chrono::milliseconds notify_retry = std::chrono::seconds(1);  // the first retry's pause
};

class OciSources final : public registry::SourceView {
 public:
  // Reads the saved state (what was advertised survives a restart offline); start() begins the
  // checks.
  explicit OciSources(SourcesDeps deps, const Clock& clock = Clock::system());
  ~OciSources() override;
  void start();
  // Asks a check in progress to end at its next step (before the mirror stops: an image pull then
  // fails fast instead of holding the shutdown); stop() then joins.
  void stop_soon();
  void stop();

  TagAnswer tag(const std::string& upstream, const std::string& repo,
                const std::string& tag) const override;
  std::optional<TagList> tag_list(const std::string& upstream,
                                  const std::string& repo) const override;

  // Checks `repository` (every source when empty) now, ahead of its schedule. Errc::not_found
  // when no source follows it.
  Result<void> check_soon(const std::string& repository);
  // Runs one check of source `i` on the calling thread (tests, and the loop).
  void check(std::size_t i);
  // Blocks until every notification queued so far is sent or given up (tests).
  void wait_notifications() { notifier_.wait_idle(); }

  // {oci: [{repository, follow, gate, interval_seconds, keep, advertised{tag: {digest, version}},
  //  newest_upstream, advertised_version, versions[{tag, digest, state, why, since}],
  //  held[{tag, why}], kept[], listed_at, last_check, upstream_reachable, last_error, checks,
  //  tags_listed, notifications[{kind, url, sent, retried, failed, pending, last_error,
  //  last_sent}]}]}
  nlohmann::json status() const;

 private:
  struct Source;
  struct Gated;
  Gated gate(const Source& src, const Digest& d);
  // gate: none — the manifest and its blobs kept, nothing read.
  Gated keep_whole(const registry::Route& manifest);
  // Gates and advertises one version / one followed tag; true when it became advertised.
  bool check_version(const Source& src, SourceState& st, const std::string& version,
                     std::vector<Gated>& pins);
  bool check_tag(const Source& src, SourceState& st, const std::string& tag);
  void pin(const Source& src, const SourceState& st, const std::vector<Gated>& pins);
  // A followed tag's advertised digest, pinned as release `source-tags:<repository>` version
  // <tag> (replaced when the tag moves), so it is served offline whatever `keep` drops.
  void pin_tag(const Source& src, const std::string& tag, const Gated& g);
  // Forgets versions upstream no longer lists that are not among the newest `keep` advertised.
  void prune(const Source& src, SourceState& st, const std::vector<std::string>& listed);
  void publish(std::size_t i, SourceState st, std::vector<std::string> snapshot);
  void notify(const Source& src, const std::vector<std::string>& tags, const SourceState& st);
  void save() const;
  void loop(std::stop_token st);
  void run_check(std::size_t i);  // in the pool: check(i), then the source is free again
  std::unique_ptr<Source> load_source(std::size_t i, const nlohmann::json& saved);
  // A notification's outcome, into the source's state and the metrics.
  void note_delivery(const std::string& source, const SourceNotifyConfig& target,
                     Notifier::Outcome outcome, const std::string& error);
  // The gauges, set at each scrape. The Metrics must not be rendered once this is gone.
  void register_metrics();
  const Source* find(const std::string& upstream, const std::string& repo) const;

  SourcesDeps d_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Source>> sources_;
  mutable Mutex mu_;
  std::condition_variable_any wake_;
  std::atomic<bool> stopping_{false};
  mutable Mutex save_mu_;  // one writer of the state file at a time
  Notifier notifier_;
  ThreadPool pool_;  // the checks
  std::jthread loop_;
};

}  // namespace outpost::sources
