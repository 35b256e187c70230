#include "bundle/jobs.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "bundle/bundle_manifest.hpp"
#include "bundle/create.hpp"
#include "bundle/download.hpp"
#include "bundle/import.hpp"
#include "bundle/oci.hpp"
#include "core/fd.hpp"
#include "core/progress.hpp"
#include "registry/route.hpp"

namespace outpost::bundle {
namespace fs = std::filesystem;

std::string ReleaseStatus::to_json() const {
  return nlohmann::json({{"name", name},
                         {"version", version},
                         {"source", source},
                         {"state", state_name(state)},
                         {"bytes_done", bytes_done},
                         {"bytes_total", bytes_total},
                         {"error", error},
                         {"blobs", blobs},
                         {"blobs_missing", blobs_missing}})
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ReleaseJobs::ReleaseJobs(const BundleSettings& cfg, BlobStore& store, MetaDb& db,
                         http::HttpClient& client, registry::Mirror& mirror, const Clock& clock)
    : cfg_(cfg), store_(store), db_(db), client_(client), mirror_(mirror), clock_(clock) {}

ReleaseJobs::~ReleaseJobs() {
  stop();
}

void ReleaseJobs::stop() {
  stopping_ = true;
}

Result<void> ReleaseJobs::check_source(const std::string& source, SourceFrom from) const {
  bool url = source.starts_with("http://") || source.starts_with("https://");
  if (is_oci_source(source)) {
    // Only a configured registry upstream is ever dialled, whatever the prefixes allow.
    auto ref = parse_oci_source(source, cfg_.registry);
    if (!ref) return std::unexpected(ref.error());
    // The releases a site cluster's replicas hold: never beyond the cluster.
    if (ref->registry == registry::kReleasesNamespace) return {};
    url = true;
  } else if (!url && !source.starts_with("/")) {
    return fail(Errc::invalid_argument,
                "source must be an http(s) URL, an oci:// reference or an absolute path");
  }
  if (url && !is_oci_source(source)) {
    const auto authority = std::string_view(source).substr(source.find("://") + 3);
    if (authority.substr(0, authority.find_first_of("/?#")).find('@') != std::string_view::npos)
      return fail(Errc::invalid_argument, "source must not carry userinfo (user@host)");
  }
  if (source.find("/../") != std::string::npos || source.ends_with("/..") ||
      source.find('\0') != std::string::npos)
    return fail(Errc::invalid_argument, "source must not contain '..'");
  return check_allowed(source, cfg_.bundle.allowed_sources, url, from);
}

upstream::UrlPolicy ReleaseJobs::allowed_hop() const {
  const auto& allowed = cfg_.bundle.allowed_sources;
  if (allowed.empty()) return {};  // any http(s) URL (a release file was refused before)
  return [&allowed](std::string_view url) {
    return check_allowed(url, allowed, true, SourceFrom::operator_request);
  };
}

ReleaseStatus ReleaseJobs::from_store(const std::string& name, const std::string& version) {
  ReleaseStatus st;
  st.name = name;
  st.version = version;
  st.state = ReleaseState::unknown;
  auto blobs = db_.release_blobs(name, version);
  auto has = db_.has_release(name, version);
  if (!has || !*has || !blobs) return st;
  st.blobs = blobs->size();
  for (const auto& d : *blobs)
    if (!store_.contains(d)) ++st.blobs_missing;
  st.state = st.blobs_missing == 0 ? ReleaseState::ready : ReleaseState::incomplete;
  return st;
}

ReleaseStatus ReleaseJobs::status(const std::string& name, const std::string& version) {
  auto stored = from_store(name, version);
  if (stored.state == ReleaseState::ready) return stored;
  MutexLock lock(mu_);
  if (auto it = jobs_.find({name, version}); it != jobs_.end()) return it->second->st;
  return stored;
}

ReleaseStatus ReleaseJobs::wait(const std::string& name, const std::string& version) {
  {
    MutexLock lock(mu_);
    for (;;) {
      auto it = jobs_.find({name, version});
      if (it == jobs_.end()) break;
      auto state = it->second->st.state;
      if (state != ReleaseState::queued && state != ReleaseState::downloading &&
          state != ReleaseState::importing)
        break;
      changed_.wait(lock);
    }
  }
  return status(name, version);
}

std::vector<ReleaseStatus> ReleaseJobs::list() {
  std::vector<ReleaseStatus> out;
  std::set<std::pair<std::string, std::string>> seen;
  if (auto rows = db_.releases()) {
    for (const auto& r : *rows) {
      out.push_back(status(r.name, r.version));
      seen.insert({r.name, r.version});
    }
  }
  MutexLock lock(mu_);
  for (auto& [key, job] : jobs_)
    if (!seen.contains(key)) out.push_back(job->st);
  return out;
}

void ReleaseJobs::update(const std::shared_ptr<Job>& job,
                         const std::function<void(ReleaseStatus&)>& fn) {
  {
    MutexLock lock(mu_);
    fn(job->st);
  }
  changed_.notify_all();
}

Result<ReleaseStatus> ReleaseJobs::start(const std::string& name, const std::string& version,
                                         const std::string& source, SourceFrom from) {
  if (auto ok = check_source(source, from); !ok) return std::unexpected(ok.error());
  return start_job(name, version, source, std::nullopt);
}

Result<ReleaseStatus> ReleaseJobs::start_upload(const std::string& name, const std::string& version,
                                                const fs::path& file, const Digest& digest) {
  return start_job(name, version, "upload", Upload{file, digest});
}

Result<ReleaseStatus> ReleaseJobs::start_job(const std::string& name, const std::string& version,
                                             const std::string& source,
                                             std::optional<Upload> upload) {
  if (!valid_release_part(name) || !valid_release_part(version))
    return fail(Errc::invalid_argument, "name and version must match [A-Za-z0-9][A-Za-z0-9._-]*");
  auto stored = from_store(name, version);
  if (stored.state == ReleaseState::ready) return stored;
  std::shared_ptr<Job> job;
  {
    MutexLock lock(mu_);
    auto& slot = jobs_[{name, version}];
    if (slot && slot->st.state != ReleaseState::failed)
      return slot->st;  // join the running (or done) job
    slot = std::make_shared<Job>();
    slot->st.name = name;
    slot->st.version = version;
    slot->st.source = source;
    slot->st.state = ReleaseState::queued;
    slot->upload = std::move(upload);
    job = slot;
  }
  pool_.post([this, job] { run(job); });
  return job->st;
}

void ReleaseJobs::fail_job(const std::shared_ptr<Job>& job, const std::string& why) {
  ReleaseStatus st;
  update(job, [&](ReleaseStatus& s) {
    s.state = ReleaseState::failed;
    s.error = why;
    st = s;
  });
  spdlog::warn("release {} {}: {}", st.name, st.version, why);
}

void ReleaseJobs::run(std::shared_ptr<Job> job) {
  auto unfinished = [&] {
    MutexLock lock(mu_);
    auto state = job->st.state;
    return state == ReleaseState::queued || state == ReleaseState::downloading ||
           state == ReleaseState::importing;
  };
  try {
    run_steps(job);
  } catch (const std::exception& e) {
    if (unfinished()) fail_job(job, std::string("unexpected error: ") + e.what());
  } catch (...) {
    if (unfinished()) fail_job(job, "unexpected error");
  }
}

void ReleaseJobs::run_steps(const std::shared_ptr<Job>& job) {
  ReleaseStatus st;
  {
    MutexLock lock(mu_);
    st = job->st;
  }
  const ImportPolicy policy{cfg_.storage.keep_releases, cfg_.bundle.trust_keys};
  if (job->upload) return run_upload(job, st);
  if (is_oci_source(st.source)) {
    update(job, [](ReleaseStatus& s) { s.state = ReleaseState::downloading; });
    auto ref = parse_oci_source(st.source, cfg_.registry);
    if (!ref) return fail_job(job, ref.error().message);
    FunctionProgress progress({}, [&](std::uint64_t done, std::uint64_t total) {
      update(job, [&](ReleaseStatus& s) {
        s.bytes_done = done;
        s.bytes_total = total;
      });
    });
    auto r = import_bundle_oci(mirror_, *ref, store_, db_, policy, progress);
    if (!r) return fail_job(job, "import failed: " + r.error().message);
    if (r->name != st.name || r->version != st.version)
      return fail_job(job, fmt::format("{} holds release {} {}, not {} {}", st.source, r->name,
                                       r->version, st.name, st.version));
    return finish(job, st);
  }
  fs::path file = st.source;
  fs::path download;
  if (st.source.starts_with("http://") || st.source.starts_with("https://")) {
    update(job, [](ReleaseStatus& s) { s.state = ReleaseState::downloading; });
    const auto downloads = store_.tmp_dir().parent_path() / "downloads";
    std::error_code ec;
    fs::create_directories(downloads, ec);
    if (ec)
      return fail_job(job, fmt::format("cannot create the download directory {}: {}",
                                       downloads.string(), ec.message()));
    // Keyed by source: an interrupted download of the same URL resumes; another URL never
    // picks up its bytes.
    download = downloads / (std::string(sha256_of(st.source).hex().substr(0, 24)) + ".tar");
    auto d = download_resumable(
        client_, st.source, download, cfg_.bundle.download_attempts, cfg_.bundle.stall_timeout,
        stopping_,
        [&](std::uint64_t done, std::uint64_t total) {
          update(job, [&](ReleaseStatus& s) {
            s.bytes_done = done;
            s.bytes_total = total;
          });
        },
        clock_, allowed_hop());
    if (!d) return fail_job(job, "download failed: " + d.error().message);
    spdlog::info("release {} {}: downloaded {} bytes in {} attempts ({} bytes received)", st.name,
                 st.version, d->bytes, d->attempts, d->received);
    file = download;
  }
  auto imported = import_file(job, st, file);
  std::error_code ec;
  // Transport failures returned above and keep the partial file for a resume; a file that fails
  // verification is removed (before the job says so) so a retry downloads it afresh.
  if (!download.empty()) fs::remove(download, ec);
  if (!imported) return fail_job(job, imported.error().message);
  finish(job, st);
}

Result<void> ReleaseJobs::import_file(const std::shared_ptr<Job>& job, const ReleaseStatus& st,
                                      const fs::path& file) {
  update(job, [](ReleaseStatus& s) { s.state = ReleaseState::importing; });
  if (auto head = read_bundle_manifest(file); !head) {
    return fail(Errc::invalid_argument, "not a usable bundle: " + head.error().message);
  } else if (head->name != st.name || head->version != st.version) {
    return fail(Errc::invalid_argument,
                fmt::format("the bundle is release {} {}, not {} {}", head->name, head->version,
                            st.name, st.version));
  }
  const ImportPolicy policy{cfg_.storage.keep_releases, cfg_.bundle.trust_keys};
  FunctionProgress progress({}, [&](std::uint64_t done, std::uint64_t total) {
    update(job, [&](ReleaseStatus& s) {
      s.bytes_done = done;
      s.bytes_total = total;
    });
  });
  auto r = import_bundle_file(file, store_, db_, policy, progress);
  if (!r) return fail(r.error().code, "import failed: " + r.error().message);
  return {};
}

void ReleaseJobs::run_upload(const std::shared_ptr<Job>& job, const ReleaseStatus& st) {
  const auto& up = *job->upload;
  auto outcome = verify_upload(job, up);
  if (outcome) outcome = import_file(job, st, up.file);
  std::error_code ec;  // the upload is gone, whatever the outcome, before the job says it
  fs::remove(up.file, ec);
  fs::remove(fs::path(up.file).replace_extension(".json"), ec);
  if (!outcome) return fail_job(job, outcome.error().message);
  finish(job, st);
}

Result<void> ReleaseJobs::verify_upload(const std::shared_ptr<Job>& job, const Upload& up) {
  update(job, [](ReleaseStatus& s) { s.state = ReleaseState::importing; });
  std::error_code ec;
  const auto total = fs::file_size(up.file, ec);
  if (ec) return fail(Errc::not_found, "the uploaded file is gone: " + up.file.string());
  auto got = sha256_of_file(up.file, [&](std::uint64_t done) {
    update(job, [&](ReleaseStatus& s) {
      s.bytes_done = done;
      s.bytes_total = total;
    });
    return !stopping_.load();
  });
  if (!got && got.error().code == Errc::cancelled)
    return fail(Errc::cancelled, "server is shutting down");
  if (!got) return fail(got.error().code, "the uploaded file: " + got.error().message);
  if (*got != up.digest)
    return fail(Errc::digest_mismatch,
                fmt::format("the uploaded file is {}, not the declared {}: upload it again",
                            got->str(), up.digest.str()));
  return {};
}

void ReleaseJobs::finish(const std::shared_ptr<Job>& job, const ReleaseStatus& st) {
  auto done = from_store(st.name, st.version);
  update(job, [&](ReleaseStatus& s) {
    s.state = done.state == ReleaseState::ready ? ReleaseState::ready : ReleaseState::failed;
    s.blobs = done.blobs;
    s.blobs_missing = done.blobs_missing;
    if (done.state != ReleaseState::ready)
      s.error = fmt::format("{} blobs missing after import", done.blobs_missing);
  });
  spdlog::info("release {} {}: {}", st.name, st.version, state_name(done.state));
}

}  // namespace outpost::bundle
