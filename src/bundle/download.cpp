#include "bundle/download.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/fd.hpp"
#include "core/retry.hpp"
#include "http/range.hpp"
#include "upstream/resumable.hpp"
#include "upstream/source.hpp"

namespace outpost::bundle {
namespace {

// The bundle file being downloaded: bytes land at the end of what it holds; a server that ignores
// Range starts it over.
class FileSink final : public upstream::ResumableSink {
 public:
  FileSink(int fd, std::uint64_t held,
           const std::function<void(std::uint64_t, std::uint64_t)>& progress)
      : fd_(fd), offset_(held), progress_(progress) {}
  bool on_start(int status, const http::Headers& h) override {
    if (status == 200 && offset_ > 0) {  // server ignored Range: start over
      if (::ftruncate(fd_, 0) != 0) return reject(fail_errno("truncate", errno).error());
      offset_ = 0;
    }
    if (auto cr = h.get("Content-Range"); status == 206 && cr) {
      auto parsed = http::parse_content_range(*cr);
      if (!parsed || parsed->first != offset_)
        return reject({Errc::upstream_error, "server answered a resume with the wrong range"});
      if (parsed->total) total_ = *parsed->total;
    } else if (auto cl = h.get("Content-Length")) {
      std::from_chars(cl->data(), cl->data() + cl->size(), total_);
    }
    return true;
  }
  bool on_data(std::span<const char> b) override {
    if (auto w =
            write_all(fd_, std::string_view(b.data(), b.size()), "writing the bundle", offset_);
        !w)
      return reject(w.error());
    offset_ += b.size();
    received_ += b.size();
    progress_(offset_, total_);
    return true;
  }
  std::uint64_t held() const override { return offset_; }
  void begin_attempt() override { rejected_.reset(); }
  std::optional<Error> rejected() const override { return rejected_; }
  bool complete() const override { return total_ == 0 || offset_ >= total_; }
  std::uint64_t received() const { return received_; }

 private:
  bool reject(Error e) {
    rejected_ = std::move(e);
    return false;
  }
  int fd_;
  std::uint64_t offset_;
  std::uint64_t total_ = 0, received_ = 0;
  std::optional<Error> rejected_;
  const std::function<void(std::uint64_t, std::uint64_t)>& progress_;
};

}  // namespace

Result<DownloadStats> download_resumable(
    http::HttpClient& client, const std::string& url, const std::filesystem::path& dest,
    int max_attempts, Millis stall_timeout, const std::atomic<bool>& cancel,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress, const Clock& clock,
    upstream::UrlPolicy allow_url) {
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    return fail(Errc::invalid_argument, "bundle URL must be http:// or https://");
  UniqueFd fd(::open(dest.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open " + dest.string(), errno);
  off_t have = ::lseek(fd.get(), 0, SEEK_END);
  FileSink sink(fd.get(), static_cast<std::uint64_t>(std::max<off_t>(have, 0)), progress);
  // The bundle's server is a source like any upstream: redirects followed, plain http only where
  // the URL is plain http already.
  upstream::Source source(
      {.url = url, .insecure = url.starts_with("http://"), .allow_url = std::move(allow_url)}, {},
      client, cancel, clock);
  RetryBudget retry(stall_timeout, clock);
  auto attempt = [&](std::uint64_t offset) {
    http::ClientRequest req;
    req.url = url;
    if (offset > 0) req.headers.emplace_back("Range", fmt::format("bytes={}-", offset));
    req.connect_timeout = std::chrono::seconds(10);
    req.stall_timeout = stall_timeout;
    req.cancel = &cancel;
    return source.send(req, &sink);
  };
  auto on_retry = [&](const Error& why, std::uint64_t offset, Millis pause) {
    spdlog::info("bundle download {}: {} — resuming from byte {} in {} ms", url, why.message,
                 offset, pause.count());
  };
  auto r = upstream::fetch_resumable(attempt, sink, retry, cancel, on_retry, max_attempts);
  if (!r) return fail(r.error().code, url + ": " + r.error().message);
  if (::fsync(fd.get()) != 0) return fail_errno("fsync " + dest.string(), errno);
  DownloadStats st;
  st.bytes = static_cast<std::uint64_t>(::lseek(fd.get(), 0, SEEK_END));
  st.received = sink.received();
  st.attempts = r->attempts;
  return st;
}

}  // namespace outpost::bundle
