#pragma once
// The object store behind the local store (storage.s3): the bucket holds every blob, keyed by
// digest only (<prefix>blobs/sha256/<hex>); data_dir stays the hot tier, a bounded cache of what
// this replica served (evicted by the watermark GC once its upload is done, records kept).
// - Write-back: a blob published locally (verified) is queued for upload as a marker file under
//   queue_dir (durable: a restart or a kill -9 loses no upload), and one uploader thread drains
//   the queue in order. While S3 is down the queue grows ("object store down, N blobs waiting")
//   and drains when it is back.
// - Read-through: a blob missing locally is asked of the bucket first, as one more hop of the
//   ask-in-order engine (upstream/ask.hpp), before mirrors and the origin; its bytes are verified
//   like any source's, so a corrupt object is never served (its source is distrusted and the
//   blob fetched from the next source, then uploaded again over it).
// The tier is a Source with role `store` (breaker, health, byte counter). Thread-safe.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include "core/digest.hpp"
#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "s3/client.hpp"
#include "store/blob_store.hpp"
#include "store/bucket_ledger.hpp"
#include "upstream/source.hpp"

namespace outpost::tier {

class ObjectTier {
 public:
  ObjectTier(const S3Config& cfg, http::HttpClient& http, BlobStore& store,
             std::filesystem::path queue_dir, Metrics& metrics,
             const Clock& clock = Clock::system());
  ~ObjectTier();  // stops the uploader
  ObjectTier(const ObjectTier&) = delete;
  ObjectTier& operator=(const ObjectTier&) = delete;

  // The start-up check: the bucket answers to these credentials (the error names the bucket and
  // S3's code).
  Result<void> check();
  // Replicas sharing the bucket (metadata.postgres) upload each blob once between them: the
  // blob is claimed in `ledger` for its upload, then recorded as stored. A ledger that does not
  // answer does not hold uploads back (at worst a blob is written twice).
  void share_uploads(BucketLedger& ledger);
  // Starts the uploader (queued blobs from before a restart first).
  void start();
  void stop();

  // Queues `d` (published in the local store) for upload, unless it was just read from the
  // bucket.
  void upload_later(const Digest& d);
  // `d`, about to be published here, comes from a peer whose copy is uploaded there: its
  // publication is not queued (unless uploads are shared through a ledger, which knows better).
  void held_elsewhere(const Digest& d);
  // The bucket's copy of `d` did not verify: the blob, fetched from another source, is uploaded
  // over it.
  void corrupt(const Digest& d);
  std::size_t waiting() const;
  // Whether `d` waits for its upload (the GC keeps its local copy).
  bool waiting_for(const Digest& d) const;
  // The bucket as a source: its breaker (S3 up or down), health and byte counter.
  upstream::Source& source() { return *source_; }
  // GET of `d` from `offset` into `sink`. A blob the bucket lacks is a 404 answer (the engine's
  // "not here"); S3 unreachable or failing is an error.
  Result<http::ClientResponse> fetch(const Digest& d, std::uint64_t offset, http::BodySink& sink,
                                     const std::atomic<bool>* cancel = nullptr);
  // A small object (a manifest, at most max_bytes) copied from the bucket into the local store,
  // verified: a replica with an empty disk serves what the bucket holds. not_found when the
  // bucket lacks it; digest_mismatch when its copy is corrupt (then uploaded again once the
  // blob is fetched elsewhere).
  Result<void> restore(const Digest& d, std::size_t max_bytes);
  s3::Client& client() { return client_; }
  static std::string key_of(const Digest& d) { return "blobs/sha256/" + std::string(d.hex()); }

 private:
  void run(std::stop_token st);
  enum class Upload { done, failed, deferred };
  // Uploads one queued blob: failed when S3 failed (the breaker says so), deferred while
  // another replica's claim on it holds.
  Upload upload(const std::string& hex);
  // The ledger's word on `d` (mine when there is no ledger or it does not answer).
  BucketLedger::Answer claim(const Digest& d);

  s3::Client client_;
  BucketLedger* ledger_ = nullptr;
  BlobStore& store_;
  const std::filesystem::path queue_dir_;
  const Clock& clock_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<upstream::Source> source_;
  MetricFamily& uploads_;
  mutable Mutex mu_;
  std::condition_variable_any cv_;
  std::size_t waiting_ GUARDED_BY(mu_) = 0;
  // Digests just read from the bucket or a peer: their local publication is not uploaded again.
  std::set<Digest> from_bucket_ GUARDED_BY(mu_);
  std::jthread thread_;
};

}  // namespace outpost::tier
