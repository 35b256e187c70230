#include "tier/object_tier.hpp"

#include "http/string_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "store/atomic_file.hpp"
#include "tier/metric_defs.hpp"

namespace outpost::tier {
namespace {

namespace fs = std::filesystem;

bool is_hex_name(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The queued digests, oldest marker first.
std::vector<std::string> queued(const fs::path& dir) {
  std::vector<std::pair<fs::file_time_type, std::string>> all;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (is_hex_name(name)) all.emplace_back(e.last_write_time(ec), name);
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> out;
  for (auto& [t, n] : all) out.push_back(std::move(n));
  return out;
}

}  // namespace

ObjectTier::ObjectTier(const S3Config& cfg, http::HttpClient& http, BlobStore& store,
                       fs::path queue_dir, Metrics& metrics, const Clock& clock)
    : client_(cfg, http, metrics, clock),
      store_(store),
      queue_dir_(std::move(queue_dir)),
      clock_(clock),
      source_(std::make_unique<upstream::Source>(
          upstream::SourceSpec{cfg.endpoint + "/" + cfg.bucket, upstream::Role::store,
                               cfg.insecure},
          upstream::BreakerPolicy{std::chrono::seconds(1), std::chrono::seconds(30)}, http,
          stopping_, clock)),
      uploads_(metrics.counter(metric::uploads_total)) {
  fs::create_directories(queue_dir_);
  MutexLock lock(mu_);
  waiting_ = queued(queue_dir_).size();
}

ObjectTier::~ObjectTier() {
  stop();
}

Result<void> ObjectTier::check() {
  auto ok = client_.check_bucket();
  if (ok)
    source_->breaker().record_success();
  else
    source_->breaker().record_failure(ok.error().message);
  return ok;
}

void ObjectTier::start() {
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

void ObjectTier::stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.request_stop();
    cv_.notify_all();
    thread_.join();
  }
}

void ObjectTier::upload_later(const Digest& d) {
  {
    MutexLock lock(mu_);
    if (from_bucket_.erase(d)) return;
  }
  const auto marker = queue_dir_ / std::string(d.hex());
  std::error_code ec;
  if (fs::exists(marker, ec)) return;
  if (auto w = write_file_atomically(marker, ""); !w) {
    spdlog::error("object store: cannot queue {} for upload: {}", d.str(), w.error().message);
    return;
  }
  MutexLock lock(mu_);
  ++waiting_;
  cv_.notify_all();
}

void ObjectTier::held_elsewhere(const Digest& d) {
  // With a shared ledger a peer's blob is queued all the same: the ledger answers "stored" or
  // "theirs" without an S3 call, and a peer killed mid-upload leaves it to this replica.
  if (ledger_) return;
  MutexLock lock(mu_);
  if (from_bucket_.size() > 10000) from_bucket_.clear();  // bounded: at worst one more upload
  from_bucket_.insert(d);
}

void ObjectTier::corrupt(const Digest& d) {
  spdlog::error(
      "object store: {}{} does not match its digest: not served; the blob is fetched "
      "from the next source and uploaded over it",
      client_.config().prefix, key_of(d));
  MutexLock lock(mu_);
  from_bucket_.erase(d);
}

std::size_t ObjectTier::waiting() const {
  MutexLock lock(mu_);
  return waiting_;
}

bool ObjectTier::waiting_for(const Digest& d) const {
  std::error_code ec;
  return fs::exists(queue_dir_ / std::string(d.hex()), ec);
}

Result<http::ClientResponse> ObjectTier::fetch(const Digest& d, std::uint64_t offset,
                                               http::BodySink& sink,
                                               const std::atomic<bool>* cancel) {
  auto r = client_.get(key_of(d), offset, sink, cancel);
  if (r) {
    MutexLock lock(mu_);
    if (from_bucket_.size() > 10000) from_bucket_.clear();  // bounded: at worst one more upload
    from_bucket_.insert(d);
  }
  if (!r && r.error().code == Errc::not_found) {
    http::ClientResponse none;
    none.status = 404;
    return none;
  }
  return r;
}

Result<void> ObjectTier::restore(const Digest& d, std::size_t max_bytes) {
  http::StringSink sink(max_bytes);
  auto r = fetch(d, 0, sink, &stopping_);
  if (!r) return std::unexpected(r.error());
  if (r->status == 404) return fail(Errc::not_found, d.str() + " is not in the bucket");
  if (sink.over) return fail(Errc::too_large, d.str() + " in the bucket is over the limit");
  auto put = store_.put(sink.data, d);
  if (!put && put.error().code == Errc::digest_mismatch) corrupt(d);
  if (!put) return std::unexpected(put.error());
  return {};
}

void ObjectTier::share_uploads(BucketLedger& ledger) {
  ledger_ = &ledger;
}

BucketLedger::Answer ObjectTier::claim(const Digest& d) {
  if (!ledger_) return {BucketLedger::Answer::mine, nullptr};
  auto c = ledger_->claim(d);
  if (!c) {
    spdlog::warn("object store: the upload ledger did not answer for {} ({}): uploading", d.str(),
                 c.error().message);
    return {BucketLedger::Answer::mine, nullptr};
  }
  return std::move(*c);
}

ObjectTier::Upload ObjectTier::upload(const std::string& hex) {
  const auto d = Digest::from_hex(hex);
  const auto marker = queue_dir_ / hex;
  auto size = store_.size_of(d);
  std::error_code ec;
  if (!size) {
    // Not held here any more (fsck quarantined it): nothing to upload.
    spdlog::warn("object store: {} is queued but not in the store; dropped from the queue",
                 d.str());
    fs::remove(marker, ec);
  } else {
    auto answer = claim(d);  // its claim is held until this scope ends
    switch (answer.state) {
      case BucketLedger::Answer::theirs:
        return Upload::deferred;
      case BucketLedger::Answer::stored:
        uploads_.add({{"outcome", "already_stored"}});
        fs::remove(marker, ec);
        break;
      case BucketLedger::Answer::mine: {
        auto put = client_.put_file(key_of(d), store_.path_for(d), *size, hex);
        if (!put) {
          uploads_.add({{"outcome", "failed"}});
          source_->breaker().record_failure(put.error().message);
          spdlog::warn("object store: upload of {} failed: {}", d.str(), put.error().message);
          return Upload::failed;
        }
        uploads_.add({{"outcome", "ok"}});
        source_->breaker().record_success();
        if (answer.claim)
          if (auto st = answer.claim->stored(*size); !st)
            spdlog::warn("object store: recording {} as stored: {}", d.str(), st.error().message);
        fs::remove(marker, ec);
        break;
      }
    }
  }
  MutexLock lock(mu_);
  if (waiting_ > 0) --waiting_;
  return Upload::done;
}

void ObjectTier::run(std::stop_token st) {
  Millis pause{500};
  while (!st.stop_requested()) {
    auto next = queued(queue_dir_);
    {
      MutexLock lock(mu_);
      waiting_ = next.size();
      if (next.empty()) {
        cv_.wait_for(lock, std::chrono::seconds(5));  // upload_later and stop() wake it
        continue;
      }
    }
    bool failed = false, deferred = false;
    for (const auto& hex : next) {
      if (st.stop_requested()) return;
      auto u = upload(hex);
      deferred |= u == Upload::deferred;
      if (u == Upload::failed) {
        failed = true;
        break;
      }
    }
    if (!failed) {
      pause = Millis(500);
      // Blobs another replica is uploading: asked about again in a second.
      if (deferred) clock_.sleep_for(std::chrono::seconds(1), stopping_);
      continue;
    }
    // S3 failing: wait, doubling up to 30 s, then try the oldest again.
    clock_.sleep_for(pause, stopping_);
    pause = std::min<Millis>(pause * 2, std::chrono::seconds(30));
  }
}

}  // namespace outpost::tier
