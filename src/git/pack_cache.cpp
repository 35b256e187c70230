#include "git/pack_cache.hpp"
#include "git/metric_defs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/fd.hpp"
#include "http/growing_file.hpp"

namespace outpost::git {
namespace fs = std::filesystem;

// One upload-pack run teed to a file: clients read the file as it grows (http::GrowingFile).
class PackRun final : public http::GrowingFile, public std::enable_shared_from_this<PackRun> {
 public:
  PackRun(PackCache& cache, std::string key, fs::path file, UniqueFd fd)
      : http::GrowingFile(UniqueFd(::dup(fd.get()))),
        cache_(cache),
        key_(std::move(key)),
        file_(std::move(file)),
        fd_(std::move(fd)) {}

  // Runs `started` to its end on a thread of its own (it keeps this run alive), then tells the
  // cache. A run that could not start ends failed.
  void run(Result<StartedPack> started) {
    if (!started) {
      spdlog::warn("git: upload-pack did not start: {}", started.error().message);
      end(false);
      return;
    }
    std::thread([self = shared_from_this(), s = std::move(*started)]() mutable {
      self->pump(std::move(s));
    }).detach();
  }

  void join() { ++readers_; }
  int readers() const { return readers_; }
  std::uint64_t size() const { return readable(); }
  const fs::path& file() const { return file_; }
  void kill() {
    MutexLock lock(mu_);
    killed_ = true;
    if (proc_) proc_->kill();
  }

 private:
  void pump(StartedPack s) {
    {
      MutexLock lock(mu_);
      proc_ = &s.proc;
      if (killed_) s.proc.kill();
    }
    std::vector<char> buf(256 * 1024);
    bool ok = true;
    for (;;) {
      auto n = ::read(s.proc.stdout_fd(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = n == 0;
        break;
      }
      const std::string_view bytes(buf.data(), static_cast<std::size_t>(n));
      if (!write_all(fd_.get(), bytes, "writing the pack cache", written_)) {
        ok = false;  // a full disk: the run fails; nothing of it is served again
        s.proc.kill();
        break;
      }
      written_ += bytes.size();
      advance(written_);
    }
    ok = s.proc.wait() == 0 && ok;
    {
      MutexLock lock(mu_);
      proc_ = nullptr;  // `s` (and its Process) ends with this function
    }
    if (s.on_end) s.on_end();
    end(ok);
  }

  void end(bool ok) {
    cache_.finished(key_, *this, ok);
    finish(ok ? std::nullopt
              : std::optional<Error>(Error{Errc::upstream_error, "upload-pack failed"}));
  }

  PackCache& cache_;
  const std::string key_;
  const fs::path file_;
  const UniqueFd fd_;          // written by pump only
  std::uint64_t written_ = 0;  // pump's thread only
  std::atomic<int> readers_{1};
  Mutex mu_;
  // The running child (owned by pump's StartedPack): the one holder of its pid, so a kill()
  // never signals a process group that was already reaped.
  Process* proc_ GUARDED_BY(mu_) = nullptr;
  bool killed_ GUARDED_BY(mu_) = false;
};

PackCache::PackCache(const PackCacheConfig& cfg, fs::path dir, Metrics& metrics, const Clock& clock)
    : cfg_(cfg),
      dir_(std::move(dir)),
      tmp_(dir_ / "tmp"),
      clock_(clock),
      requests_(metrics.counter(metric::git_pack_cache_requests_total)),
      runs_(metrics.counter(metric::git_upload_pack_runs_total)),
      saved_(metrics.counter(metric::git_pack_cache_runs_saved_total)),
      served_bytes_(metrics.counter(metric::git_pack_cache_served_bytes_total)) {
  load();
  metrics.add_collector([this, &metrics] {
    auto st = stats();
    metrics.gauge(metric::git_pack_cache_bytes).set({}, static_cast<double>(st.bytes));
    metrics.gauge(metric::git_pack_cache_entries).set({}, static_cast<double>(st.entries));
  });
}

PackCache::~PackCache() {
  MutexLock lock(mu_);
  for (auto& [_, run] : running_) run->kill();
  while (!running_.empty()) idle_.wait(lock);
}

void PackCache::load() {
  std::error_code ec;
  fs::remove_all(tmp_, ec);  // runs a killed process left: never served
  fs::create_directories(tmp_, ec);
  MutexLock lock(mu_);
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const auto name = e.path().filename().string();
    if (!e.is_regular_file() || name.size() != 64) continue;
    auto size = e.file_size(ec);
    if (ec) continue;
    const auto now = clock_.steady_now();
    entries_.emplace(name, Entry{size, now, now});
    bytes_ += size;
  }
  evict_locked(cfg_.max_bytes);
}

Result<http::Response> PackCache::serve(const std::string& key,
                                        const std::function<Result<StartedPack>()>& start) {
  std::shared_ptr<PackRun> run;
  {
    MutexLock lock(mu_);
    if (sightings_.size() > 100000) sightings_.clear();
    ++sightings_[key];
    if (auto e = entries_.find(key); e != entries_.end()) {
      const auto now = clock_.steady_now();
      if (now - e->second.created <= cfg_.ttl) {
        UniqueFd fd(::open((dir_ / key).c_str(), O_RDONLY | O_CLOEXEC));
        if (fd) {
          e->second.used = now;
          requests_.add({{"result", "hit"}});
          saved_.add({});
          served_bytes_.add({}, static_cast<double>(e->second.size));
          ++hits_;
          served_ += e->second.size;
          http::Response r;
          r.body = http::FileBody{std::move(fd), 0, e->second.size};
          return r;
        }
      }
      bytes_ -= e->second.size;
      fs::remove(dir_ / key);
      entries_.erase(e);
    }
    if (auto it = running_.find(key); it != running_.end()) {
      it->second->join();
      requests_.add({{"result", "joined"}});
      saved_.add({});
      ++joined_;
      http::Response r;
      r.body = http::StreamBody{it->second, 0, 0, true};
      return r;
    }
    static std::atomic<std::uint64_t> serial{0};
    auto file = tmp_ / fmt::format("{}.{}", key, ++serial);
    UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return fail(Errc::io, "cannot create " + file.string());
    run = std::make_shared<PackRun>(*this, key, file, std::move(fd));
    running_.emplace(key, run);  // single-flight from here: identical fetches join
    requests_.add({{"result", "miss"}});
    ++misses_;
  }
  runs_.add({{"request", "fetch"}});
  auto started = start();
  if (!started) {
    auto why = started.error();
    run->run(std::move(started));  // ends failed: whoever joined meanwhile is cut
    return std::unexpected(why);
  }
  run->run(std::move(started));
  http::Response r;
  r.body = http::StreamBody{run, 0, 0, true};
  return r;
}

void PackCache::finished(const std::string& key, PackRun& run, bool ok) {
  MutexLock lock(mu_);
  if (auto it = running_.find(key); it != running_.end() && it->second.get() == &run)
    running_.erase(it);
  const auto size = run.size();
  std::error_code ec;
  const bool keep = ok && cfg_.enabled && size <= cfg_.max_bytes &&
                    (run.readers() > 1 || sightings_[key] >= cfg_.min_requests);
  if (ok && run.readers() > 1) {
    served_bytes_.add({}, static_cast<double>(size) * (run.readers() - 1));
    served_ += size * static_cast<std::uint64_t>(run.readers() - 1);
  }
  if (keep) {
    fs::rename(run.file(), dir_ / key, ec);
    if (!ec) {
      const auto now = clock_.steady_now();
      if (auto old = entries_.find(key); old != entries_.end()) bytes_ -= old->second.size;
      entries_.insert_or_assign(key, Entry{size, now, now});
      bytes_ += size;
      evict_locked(cfg_.max_bytes);
    }
  }
  if (!keep || ec) fs::remove(run.file(), ec);  // open readers keep reading their descriptor
  idle_.notify_all();
}

void PackCache::evict_locked(std::uint64_t target_bytes) {
  const auto now = clock_.steady_now();
  std::error_code ec;
  for (auto it = entries_.begin(); it != entries_.end();) {  // expired first
    if (now - it->second.created > cfg_.ttl) {
      bytes_ -= it->second.size;
      fs::remove(dir_ / it->first, ec);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  while (bytes_ > target_bytes && !entries_.empty()) {  // then least recently used
    auto lru = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->second.used < lru->second.used) lru = it;
    bytes_ -= lru->second.size;
    fs::remove(dir_ / lru->first, ec);
    entries_.erase(lru);
  }
}

std::uint64_t PackCache::evict(std::uint64_t bytes) {
  MutexLock lock(mu_);
  const auto before = bytes_;
  evict_locked(bytes == 0 || bytes >= bytes_ ? 0 : bytes_ - bytes);
  return before - bytes_;
}

PackCache::Stats PackCache::stats() {
  MutexLock lock(mu_);
  return {entries_.size(), bytes_, hits_, joined_, misses_, served_};
}

}  // namespace outpost::git
