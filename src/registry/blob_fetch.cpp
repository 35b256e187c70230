#include "registry/blob_fetch.hpp"
#include "registry/metric_defs.hpp"
#include "tier/object_tier.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/retry.hpp"
#include "http/range.hpp"
#include "upstream/resumable.hpp"

namespace outpost::registry {
namespace {

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

// Readers get a descriptor of their own (a dup of the temp file's): it stays valid after the
// writer publishes or discards the file.
BlobFetch::BlobFetch(Digest digest, BlobWriter writer)
    : http::GrowingFile(UniqueFd(::dup(writer.fd()))),
      digest_(std::move(digest)),
      writer_(std::move(writer)) {}

Result<std::uint64_t> BlobFetch::wait_for_size() {
  MutexLock lock(mu_);
  while (state_ == State::connecting) cv_.wait(lock);
  if (state_ == State::failed) return std::unexpected(error_);
  if (!size_) {  // upstream sent no length: the client can only be served once it is complete
    while (!(state_ == State::done || state_ == State::failed)) cv_.wait(lock);
    if (state_ == State::failed) return std::unexpected(error_);
    return written_;
  }
  return *size_;
}

Result<void> BlobFetch::wait_done() {
  MutexLock lock(mu_);
  while (!(state_ == State::done || state_ == State::failed)) cv_.wait(lock);
  if (state_ == State::failed) return std::unexpected(error_);
  return {};
}

Result<void> BlobFetch::wait_done(Millis every, const std::function<void(std::uint64_t)>& written) {
  MutexLock lock(mu_);
  for (;;) {
    const auto until = std::chrono::steady_clock::now() + every;
    while (state_ != State::done && state_ != State::failed &&
           cv_.wait_until(lock, until) != std::cv_status::timeout) {
    }
    if (state_ == State::done || state_ == State::failed) break;
    auto n = written_;
    lock.unlock();
    written(n);
    lock.lock();
  }
  if (state_ == State::failed) return std::unexpected(error_);
  return {};
}

std::uint64_t BlobFetch::readable_locked() const {
  // The last byte is held back until the digest verifies: a reader can never receive a complete
  // body of unverified bytes, only a complete verified one or an aborted one.
  if (state_ == State::done || verified_) return written_;
  if (size_ && *size_ > 0 && written_ >= *size_) return *size_ - 1;
  return written_;
}

bool BlobFetch::on_start(int status, const http::Headers& headers) {
  std::optional<std::uint64_t> total;
  if (status == 206) {
    auto cr = headers.get("Content-Range");
    auto parsed = cr ? http::parse_content_range(*cr) : std::nullopt;
    if (!parsed || parsed->first != resume_from_) {
      attempt_ok_ = false;
      attempt_error_ = "upstream answered a resume with the wrong range";
      return false;
    }
    total = parsed->total;
  } else if (status == 200) {
    if (resume_from_ != 0) {
      attempt_ok_ = false;
      attempt_error_ = "upstream ignored Range on resume";
      return false;
    }
    if (auto cl = headers.get("Content-Length")) total = parse_u64(*cl);
  } else {
    attempt_ok_ = false;
    attempt_error_ = fmt::format("unexpected HTTP {}", status);
    return false;
  }
  {
    MutexLock lock(mu_);
    if (total) {
      if (size_ && *size_ != *total) {
        attempt_ok_ = false;
        attempt_error_ = "blob size changed between attempts";
        return false;
      }
      size_ = total;
    }
    if (state_ == State::connecting) state_ = State::streaming;
  }
  cv_.notify_all();
  return true;
}

bool BlobFetch::on_data(std::span<const char> bytes) {
  std::uint64_t cap;
  {
    MutexLock lock(mu_);
    cap = size_.value_or(UINT64_MAX);
  }
  if (writer_.size() + bytes.size() > cap) {
    attempt_ok_ = false;
    attempt_error_ = "upstream sent more bytes than it announced";
    return false;
  }
  if (auto r = writer_.write(bytes); !r) {
    attempt_ok_ = false;
    attempt_error_ = r.error().message;
    return false;
  }
  std::uint64_t end;
  {
    MutexLock lock(mu_);
    written_ = writer_.size();
    end = readable_locked();
  }
  advance(end);
  return true;
}

void BlobFetch::mark_verified() {
  std::uint64_t end;
  {
    MutexLock lock(mu_);
    verified_ = true;
    end = readable_locked();
  }
  advance(end);
}

void BlobFetch::finish(Result<void> outcome) {
  std::uint64_t end;
  {
    MutexLock lock(mu_);
    if (outcome) {
      state_ = State::done;
      size_ = written_;
    } else {
      state_ = State::failed;
      error_ = outcome.error();
    }
    end = readable_locked();
  }
  cv_.notify_all();
  if (outcome) advance(end);
  http::GrowingFile::finish(outcome ? std::nullopt : std::optional<Error>(outcome.error()));
}

BlobFetcher::BlobFetcher(BlobStore& store, MetaDb& db, Metrics& metrics,
                         std::function<void(std::function<void()>)> run, Millis stall_timeout,
                         const std::atomic<bool>& stopping, const Clock& clock)
    : store_(store),
      db_(db),
      run_(std::move(run)),
      stall_timeout_(stall_timeout),
      stopping_(stopping),
      clock_(clock),
      upstream_bytes_(metrics.counter(metric::upstream_bytes_total)),
      mismatches_(metrics.counter(metric::registry_digest_mismatch_total)),
      resumes_(metrics.counter(metric::registry_fetch_resumes_total)),
      upstream_gets_(metrics.counter(metric::registry_upstream_blob_fetches_total)) {
  metrics.add_collector([this, &metrics] {
    metrics.gauge(metric::registry_fetches_in_flight).set({}, static_cast<double>(in_flight()));
  });
}

std::size_t BlobFetcher::in_flight() const {
  MutexLock lock(mu_);
  return active_.size();
}

Result<std::shared_ptr<BlobFetch>> BlobFetcher::fetch(Upstream& upstream, const std::string& repo,
                                                      const Digest& digest,
                                                      cluster::Asking asking) {
  std::shared_ptr<BlobFetch> f;
  {
    MutexLock lock(mu_);
    if (auto it = active_.find(digest); it != active_.end()) return it->second;
    auto writer = store_.create_temp();
    if (!writer) return std::unexpected(writer.error());
    f = std::make_shared<BlobFetch>(digest, std::move(*writer));
    active_.emplace(digest, f);
  }
  upstream_gets_.add({{"upstream", upstream.name()}});
  run_([this, &upstream, repo, f, asking] { download(upstream, repo, f, asking); });
  return f;
}

Result<void> BlobFetcher::publish(Upstream& upstream, BlobFetch& f) {
  std::optional<std::uint64_t> expected;
  {
    MutexLock lock(f.mu_);
    expected = f.size_;
  }
  if (expected && *expected != f.writer_.size())
    return fail(Errc::upstream_error, "upstream body shorter than announced");
  if (auto d = f.writer_.seal(f.digest()); !d) {
    mismatches_.add({{"upstream", upstream.name()}});
    spdlog::error("upstream {} sent wrong bytes for {}: {}", upstream.name(), f.digest().str(),
                  d.error().message);
    return std::unexpected(d.error());
  }
  // Verified: clients may have the last byte now; durability (fsync + rename) follows.
  f.mark_verified();
  if (auto p = f.writer_.publish(); !p) return std::unexpected(p.error());
  if (auto rec = db_.put_blob(f.digest(), f.writer_.size()); !rec)
    spdlog::warn("blob {} published but not recorded: {}", f.digest().str(), rec.error().message);
  return {};
}

void BlobFetch::begin_attempt() {
  resume_from_ = writer_.size();
  attempt_ok_ = true;
}

std::optional<Error> BlobFetch::rejected() const {
  if (attempt_ok_) return std::nullopt;
  return Error{Errc::upstream_error, attempt_error_};
}

void BlobFetcher::download(Upstream& upstream, std::string repo, std::shared_ptr<BlobFetch> f,
                           cluster::Asking asking) {
  RetryBudget retry(stall_timeout_, clock_);
  std::uint64_t counted = 0;
  std::set<outpost::upstream::Source*> suppliers;  // sources whose bytes are in the file
  auto attempt = [&](std::uint64_t offset) {
    outpost::upstream::Source* source = nullptr;
    auto r = upstream.fetch_blob(repo, f->digest().str(), offset, *f, &source, asking);
    const auto moved = f->writer_.size() - counted;
    upstream_bytes_.add({{"upstream", upstream.name()}}, static_cast<double>(moved));
    if (source) source->add_bytes(moved);
    if (source && moved > 0) suppliers.insert(source);
    counted = f->writer_.size();
    return r;
  };
  auto on_retry = [&](const Error& why, std::uint64_t offset, Millis pause) {
    resumes_.add({{"upstream", upstream.name()}});
    spdlog::info("fetch of {} from {}: {}; retrying from byte {} in {} ms", f->digest().str(),
                 upstream.name(), why.message, offset, pause.count());
  };
  auto fetched = outpost::upstream::fetch_resumable(attempt, *f, retry, stopping_, on_retry);
  Result<void> outcome;
  if (!fetched) outcome = std::unexpected(fetched.error());
  if (outcome) {
    // Bytes only from peers (whose owner uploads them) or from the bucket are not written to the
    // bucket again: each blob is written once.
    bool from_origin_side = false;
    for (auto* s : suppliers)
      from_origin_side |= s->spec().role == outpost::upstream::Role::origin ||
                          s->spec().role == outpost::upstream::Role::mirror;
    if (!from_origin_side && !suppliers.empty() && upstream.object_tier())
      upstream.object_tier()->held_elsewhere(f->digest());
    outcome = publish(upstream, *f);
  }
  if (outcome && on_fetched_) {
    bool from_sources = false;
    for (auto* s : suppliers) from_sources |= s->spec().role != outpost::upstream::Role::peer;
    on_fetched_(upstream, repo, f->digest(), from_sources);
  }
  bool refetch = false;
  if (!outcome && outcome.error().code == Errc::digest_mismatch) {
    // A mirror among the suppliers lied (or relayed a lie): it is distrusted, and the blob is
    // fetched again from the next source for the clients that retry. Readers of this attempt are
    // aborted: they may hold wrong bytes. The origin is never distrusted, so this ends.
    for (auto* s : suppliers)
      if (Upstream::is_mirror(*s)) {
        upstream.distrust(*s, "blob " + f->digest().str() + " does not match its digest",
                          &f->digest());
        refetch = true;
      }
  }
  if (!outcome)
    spdlog::warn("fetch of {} from {} failed: {}", f->digest().str(), upstream.name(),
                 outcome.error().message);
  {
    MutexLock lock(mu_);
    active_.erase(f->digest());
  }
  f->finish(std::move(outcome));
  if (refetch && !upstream.down() && !stopping_) (void)fetch(upstream, repo, f->digest(), asking);
}

}  // namespace outpost::registry
