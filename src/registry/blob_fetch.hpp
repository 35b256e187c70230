#pragma once
// Single-flight blob downloads. However many clients ask for a missing digest, one download runs;
// each client streams the bytes as they land in tmp/ (BlobFetch is their StreamSource). A dropped
// upstream connection is resumed with Range; a stalled or refused one is retried (RetryBudget). The
// blob is published only when its digest verifies; otherwise every reader's response is aborted.
// Thread-safe.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "cluster/cluster.hpp"
#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "http/growing_file.hpp"
#include "http/message.hpp"
#include "registry/upstream.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"
#include "upstream/resumable.hpp"

namespace outpost::registry {

// Readers stream it as an http::GrowingFile: the bytes written so far, less the last one until the
// digest verifies.
class BlobFetch final : public http::GrowingFile, public upstream::ResumableSink {
 public:
  enum class State { connecting, streaming, done, failed };
  BlobFetch(Digest digest, BlobWriter writer);

  const Digest& digest() const { return digest_; }
  // Blocks until the size is known (streaming/done) or the fetch failed. Returns the size.
  Result<std::uint64_t> wait_for_size();
  // Blocks until the blob is published or failed.
  Result<void> wait_done();
  // Like wait_done, reporting the bytes written so far every `every` while it waits.
  Result<void> wait_done(Millis every, const std::function<void(std::uint64_t)>& written);

  // ResumableSink: bytes from upstream (the fetch thread only).
  bool on_start(int status, const http::Headers& headers) override;
  bool on_data(std::span<const char> bytes) override;
  std::uint64_t held() const override { return writer_.size(); }
  void begin_attempt() override;
  std::optional<Error> rejected() const override;

 private:
  friend class BlobFetcher;
  void finish(Result<void> outcome);  // fetch thread: publish or fail, wake everyone
  void mark_verified();               // fetch thread: release the held-back last byte
  std::uint64_t readable_locked() const REQUIRES(mu_);

  const Digest digest_;
  BlobWriter writer_;  // fetch thread only
  Mutex mu_;
  std::condition_variable_any cv_;
  State state_ GUARDED_BY(mu_) = State::connecting;
  std::optional<std::uint64_t> size_ GUARDED_BY(mu_);
  std::uint64_t written_ GUARDED_BY(mu_) = 0;
  bool verified_ GUARDED_BY(mu_) = false;  // digest checked, every byte may be read
  Error error_ GUARDED_BY(mu_) = {Errc::internal, ""};
  std::uint64_t resume_from_ = 0;  // fetch thread: offset of the current attempt
  bool attempt_ok_ = true;         // fetch thread
  std::string attempt_error_;      // fetch thread
};

class BlobFetcher {
 public:
  // `run` executes a task on a background thread (the server supplies its fetch pool). A stalled,
  // refused or reset download is retried within a RetryBudget of `stall_timeout`; `stopping`
  // cancels the pauses.
  BlobFetcher(BlobStore& store, MetaDb& db, Metrics& metrics,
              std::function<void(std::function<void()>)> run, Millis stall_timeout,
              const std::atomic<bool>& stopping, const Clock& clock = Clock::system());

  // Joins the download of `digest` from `upstream`, starting it if none runs; a download it starts
  // asks the cluster first as `asking` says.
  Result<std::shared_ptr<BlobFetch>> fetch(Upstream& upstream, const std::string& repo,
                                           const Digest& digest,
                                           cluster::Asking asking = cluster::Asking::none);
  std::size_t in_flight() const;
  // Called on the fetch thread after a blob is published, with whether any of its bytes came from
  // the upstream's own sources (a mirror or the origin) rather than a peer. Set before fetches.
  using Fetched = std::function<void(Upstream&, const std::string& repo, const Digest&, bool)>;
  void on_fetched(Fetched f) { on_fetched_ = std::move(f); }

 private:
  void download(Upstream& upstream, std::string repo, std::shared_ptr<BlobFetch> f,
                cluster::Asking asking);
  // Verifies the digest, releases the bytes to readers, publishes into the store.
  Result<void> publish(Upstream& upstream, BlobFetch& f);

  BlobStore& store_;
  MetaDb& db_;
  Fetched on_fetched_;
  std::function<void(std::function<void()>)> run_;
  const Millis stall_timeout_;
  const std::atomic<bool>& stopping_;
  const Clock& clock_;
  MetricFamily& upstream_bytes_;
  MetricFamily& mismatches_;
  MetricFamily& resumes_;
  MetricFamily& upstream_gets_;
  mutable Mutex mu_;
  std::map<Digest, std::shared_ptr<BlobFetch>> active_ GUARDED_BY(mu_);
};

}  // namespace outpost::registry
