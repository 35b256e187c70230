#pragma once
// Downloads a bundle over http(s) to a file, resuming with Range after a dropped connection and
// retrying with backoff, so a flaky link finishes the transfer instead of restarting it.
#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "upstream/source.hpp"

namespace outpost::bundle {

struct DownloadStats {
  std::uint64_t bytes = 0;     // final file size
  std::uint64_t received = 0;  // bytes received over all attempts
  int attempts = 0;
};

// `progress(done, total)` (total 0 when unknown). A file already at `dest` is resumed. The pauses
// between attempts are waited on `clock`. `allow_url`, when set, checks the URL and every
// redirect's target before it is dialled.
Result<DownloadStats> download_resumable(
    http::HttpClient& client, const std::string& url, const std::filesystem::path& dest,
    int max_attempts, Millis stall_timeout, const std::atomic<bool>& cancel,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress,
    const Clock& clock = Clock::system(), upstream::UrlPolicy allow_url = {});

}  // namespace outpost::bundle
