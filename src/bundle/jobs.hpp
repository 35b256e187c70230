#pragma once
// Server-side release imports (POST /api/v1/releases): one job per release name+version however
// many callers ask (PreSync hooks of several apps, retries), downloading http(s) sources with
// resume, or oci:// sources blob by blob, then importing into the live store. A release's readiness
// is a fact of the store: its record exists and every blob it pins is present.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bundle/config.hpp"
#include "bundle/release_state.hpp"
#include "bundle/source_policy.hpp"
#include "core/mutex.hpp"
#include "core/thread_pool.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"
#include "upstream/source.hpp"

namespace outpost::registry {
class Mirror;
}

namespace outpost::bundle {

struct ReleaseStatus {
  std::string name, version, source;
  ReleaseState state = ReleaseState::unknown;
  std::uint64_t bytes_done = 0, bytes_total = 0;
  std::string error;
  std::size_t blobs = 0, blobs_missing = 0;
  std::string to_json() const;
};

class ReleaseJobs {
 public:
  // `mirror` fetches oci:// sources (through the configured registry upstreams only); `clock`
  // paces the retries of http(s) downloads.
  ReleaseJobs(const BundleSettings& cfg, BlobStore& store, MetaDb& db, http::HttpClient& client,
              registry::Mirror& mirror, const Clock& clock = Clock::system());
  ~ReleaseJobs();

  // Starts the import of `source` as name/version, or joins the one running. A release already
  // complete in the store is reported ready without any work. Errc::forbidden for a source outside
  // bundle.allowed_sources, Errc::invalid_argument for bad names.
  // `from`: a release file in a gated repository may name only sources on the list (an empty
  // list admits none of them); every download hop stays on the list (bundle/source_policy.hpp).
  Result<ReleaseStatus> start(const std::string& name, const std::string& version,
                              const std::string& source,
                              SourceFrom from = SourceFrom::operator_request);
  // Verifies and imports a complete upload (bundle/upload.hpp) as name/version: first its sha256
  // against the declared `digest` (bytes_done shows the verification), then as a bundle file
  // like any other. The file is removed either way: a bad bundle publishes nothing, and the next
  // upload starts afresh.
  Result<ReleaseStatus> start_upload(const std::string& name, const std::string& version,
                                     const std::filesystem::path& file, const Digest& digest);
  ReleaseStatus status(const std::string& name, const std::string& version);
  // Blocks until the job for name/version, if there is one, is no longer queued, downloading or
  // importing; then returns the release's status.
  ReleaseStatus wait(const std::string& name, const std::string& version);
  std::vector<ReleaseStatus> list();
  void stop();

 private:
  struct Upload {
    std::filesystem::path file;
    Digest digest;
  };
  struct Job {
    ReleaseStatus st;              // GUARDED_BY(ReleaseJobs::mu_)
    std::optional<Upload> upload;  // set before the job runs; then read only
  };
  Result<ReleaseStatus> start_job(const std::string& name, const std::string& version,
                                  const std::string& source, std::optional<Upload> upload);
  // The sha256 check of an upload, then the import of the file.
  void run_upload(const std::shared_ptr<Job>& job, const ReleaseStatus& st);
  Result<void> verify_upload(const std::shared_ptr<Job>& job, const Upload& up);
  // Imports a bundle file (bytes_done shows it); the caller ends the job.
  Result<void> import_file(const std::shared_ptr<Job>& job, const ReleaseStatus& st,
                           const std::filesystem::path& file);
  Result<void> check_source(const std::string& source, SourceFrom from) const;
  // What every URL of a download (each redirect's too) must pass: under bundle.allowed_sources,
  // when the list is set.
  upstream::UrlPolicy allowed_hop() const;
  // Runs the job to its end: whatever its steps throw fails it with the message, so a job is
  // never left queued, downloading or importing (which every later start() would join).
  void run(std::shared_ptr<Job> job);
  void run_steps(const std::shared_ptr<Job>& job);
  void fail_job(const std::shared_ptr<Job>& job, const std::string& why);
  void finish(const std::shared_ptr<Job>& job, const ReleaseStatus& st);  // ready, or why not
  ReleaseStatus from_store(const std::string& name, const std::string& version);
  void update(const std::shared_ptr<Job>& job, const std::function<void(ReleaseStatus&)>& fn);

  const BundleSettings cfg_;
  BlobStore& store_;
  MetaDb& db_;
  http::HttpClient& client_;
  registry::Mirror& mirror_;
  const Clock& clock_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  std::condition_variable_any changed_;  // a job's status changed
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Job>> jobs_ GUARDED_BY(mu_);
  ThreadPool pool_{2};
};

}  // namespace outpost::bundle
