#include "bundle/download.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/fd.hpp"
#include "core/retry.hpp"

namespace outpost::bundle {
namespace {

class FileSink final : public http::BodySink {
 public:
  FileSink(int fd, std::uint64_t offset,
           const std::function<void(std::uint64_t, std::uint64_t)>& progress)
      : fd_(fd), offset_(offset), progress_(progress) {}
  bool on_start(int status, const http::Headers& h) override {
    if (status == 200 && offset_ > 0) {  // server ignored Range: start over
      if (::ftruncate(fd_, 0) != 0) return false;
      offset_ = 0;
    }
    if (auto cr = h.get("Content-Range"); status == 206 && cr) {
      auto slash = cr->find('/');
      if (slash != std::string_view::npos) {
        auto t = cr->substr(slash + 1);
        std::from_chars(t.data(), t.data() + t.size(), total_);
      }
    } else if (auto cl = h.get("Content-Length")) {
      std::from_chars(cl->data(), cl->data() + cl->size(), total_);
    }
    return true;
  }
  bool on_data(std::span<const char> b) override {
    if (::pwrite(fd_, b.data(), b.size(), static_cast<off_t>(offset_)) !=
        static_cast<ssize_t>(b.size()))
      return false;
    offset_ += b.size();
    received_ += b.size();
    progress_(offset_, total_);
    return true;
  }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t total() const { return total_; }
  std::uint64_t received() const { return received_; }

 private:
  int fd_;
  std::uint64_t offset_;
  std::uint64_t total_ = 0, received_ = 0;
  const std::function<void(std::uint64_t, std::uint64_t)>& progress_;
};

}  // namespace

Result<DownloadStats> download_resumable(
    http::HttpClient& client, const std::string& url, const std::filesystem::path& dest,
    int max_attempts, Millis stall_timeout, const std::atomic<bool>& cancel,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    return fail(Errc::invalid_argument, "bundle URL must be http:// or https://");
  UniqueFd fd(::open(dest.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open " + dest.string(), errno);
  DownloadStats st;
  Error last{Errc::upstream_unavailable, "no attempt made"};
  bool complete = false;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    if (cancel) return fail(Errc::cancelled, "download cancelled");
    if (attempt > 0) {
      auto backoff = std::min<long>(5000, 200L << std::min(attempt, 5));
      spdlog::info("bundle download {}: {} — retrying in {} ms (attempt {})", url, last.message,
                   backoff, attempt + 1);
      if (!sleep_unless_cancelled(std::chrono::milliseconds(backoff), cancel))
        return fail(Errc::cancelled, "download cancelled");
    }
    ++st.attempts;
    off_t have = ::lseek(fd.get(), 0, SEEK_END);
    FileSink sink(fd.get(), static_cast<std::uint64_t>(std::max<off_t>(have, 0)), progress);
    http::ClientRequest req;
    req.url = url;
    if (have > 0) req.headers.emplace_back("Range", fmt::format("bytes={}-", have));
    req.connect_timeout = std::chrono::seconds(10);
    req.stall_timeout = stall_timeout;
    req.cancel = &cancel;
    auto r = client.perform(req, &sink);
    st.received += sink.received();
    if (r && r->status == 416 && have > 0) {  // already complete
      complete = true;
      break;
    }
    if (r && (r->status == 200 || r->status == 206)) {
      if (sink.total() == 0 || sink.offset() >= sink.total()) {
        complete = true;
        break;
      }
      last = {Errc::upstream_error, "transfer ended early"};
      continue;
    }
    if (r) {
      last = {r->status == 404 ? Errc::not_found : Errc::upstream_error,
              fmt::format("{} answered HTTP {}", url, r->status)};
      if (r->status == 404 || r->status == 403 || r->status == 401) return std::unexpected(last);
      continue;
    }
    if (r.error().code == Errc::cancelled) return std::unexpected(r.error());
    last = r.error();
  }
  if (!complete) return std::unexpected(last);
  if (::fsync(fd.get()) != 0) return fail_errno("fsync " + dest.string(), errno);
  st.bytes = static_cast<std::uint64_t>(::lseek(fd.get(), 0, SEEK_END));
  return st;
}

}  // namespace outpost::bundle
