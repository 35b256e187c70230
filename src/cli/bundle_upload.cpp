#include "cli/bundle_upload.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <thread>

#include "bundle/api.hpp"
#include "cli/progress_bar.hpp"
#include "core/digest.hpp"
#include "core/fd.hpp"

namespace outpost::cli {
namespace fs = std::filesystem;
namespace {

// The sha256 of a file, with progress.
Result<Digest> hash_file(const fs::path& file, std::uint64_t size) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(Errc::io, "cannot open " + file.string());
  ProgressBar bar("checking " + file.filename().string());
  Sha256 h;
  std::vector<char> buf(1 << 20);
  std::uint64_t done = 0;
  for (;;) {
    auto n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Errc::io, "reading " + file.string());
    if (n == 0) break;
    h.update(std::span<const char>(buf.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
    bar.bytes(done, size);
  }
  return h.finish();
}

std::string message_of(const http::ClientResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string())
    return j["error"];
  return fmt::format("HTTP {}", r.status);
}

}  // namespace

Result<void> upload_bundle(http::HttpClient& client, const std::string& base, const fs::path& file,
                           const std::string& name, const std::string& version,
                           const std::vector<std::pair<std::string, std::string>>& auth,
                           int attempts) {
  std::error_code ec;
  const std::uint64_t size = fs::file_size(file, ec);
  if (ec) return fail(Errc::io, file.string() + ": " + ec.message());
  if (size == 0) return fail(Errc::invalid_argument, file.string() + " is empty");
  auto digest = hash_file(file, size);
  if (!digest) return std::unexpected(digest.error());
  const auto url = fmt::format("{}/api/v1/uploads/{}/{}", base, name, version);
  auto request = [&](std::string method) {
    http::ClientRequest req;
    req.method = std::move(method);
    req.url = url;
    req.headers = auth;
    req.total_timeout = std::chrono::seconds(30);
    return req;
  };

  // Where the server's upload stands: resume a cut upload of this file; replace one of another.
  std::uint64_t offset = 0;
  if (auto r = client.perform(request("GET"), nullptr); r && r->status == 200) {
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_discarded() && j.value("digest", "") == digest->str() &&
        j.value("size", std::uint64_t{0}) == size) {
      offset = j.value("offset", std::uint64_t{0});
      if (offset > 0)
        std::cerr << fmt::format("resuming the upload at {} of {} bytes\n", offset, size);
    } else if (!j.is_discarded()) {
      std::cerr << fmt::format("replacing an unfinished upload of another file for {} {}\n", name,
                               version);
      (void)client.perform(request("DELETE"), nullptr);
    }
  }

  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(Errc::io, "cannot open " + file.string());
  ProgressBar bar(fmt::format("uploading {} {}", name, version));
  std::string chunk;
  int failures = 0;
  auto pause = std::chrono::seconds(1);
  for (;;) {
    const auto len = std::min<std::uint64_t>(bundle::kUploadChunkBytes, size - offset);
    chunk.resize(len);
    auto n = ::pread(fd.get(), chunk.data(), len, static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(len)) return fail(Errc::io, "reading " + file.string());
    auto req = request("PUT");
    req.total_timeout = Millis(0);
    req.stall_timeout = std::chrono::seconds(60);  // a slow link may take minutes per chunk
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    req.headers.emplace_back("Content-Range",
                             fmt::format("bytes {}-{}/{}", offset, offset + len - 1, size));
    req.headers.emplace_back("X-Outpost-Bundle-Digest", digest->str());
    req.body = std::move(chunk);
    auto r = client.perform(req, nullptr);
    chunk = std::move(req.body);
    // A full disk (507) will not clear by itself: only transport failures and 5xx blips are
    // retried.
    const bool retry = !r || (r->status >= 500 && r->status != 507) || r->status == 416;
    if (r && (r->status == 200 || r->status == 202)) {
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (j.is_discarded()) return fail(Errc::upstream_error, "the server sent invalid JSON");
      if (j.contains("release")) {  // complete (or the release was ready already)
        bar.bytes(size, size);
        return {};
      }
      offset = j.value("offset", offset + len);
      bar.bytes(offset, size);
      failures = 0;
      pause = std::chrono::seconds(1);
      continue;
    }
    if (r && r->status == 416) {  // the server holds another amount: go on from there
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (!j.is_discarded()) offset = j.value("offset", std::uint64_t{0});
    }
    if (!retry) return fail(Errc::upstream_error, "upload refused: " + message_of(*r));
    if (++failures >= attempts)
      return fail(Errc::upstream_unavailable,
                  fmt::format("upload failed {} times in a row: {}", failures,
                              r ? message_of(*r) : r.error().message));
    if (!r || r->status != 416) {
      bar.note(fmt::format("upload interrupted at {} bytes ({}); resuming", offset,
                           r ? message_of(*r) : r.error().message));
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::seconds(30));
      // The server may hold more than was acknowledged (a reply lost with the connection).
      if (auto s = client.perform(request("GET"), nullptr); s && s->status == 200) {
        auto j = nlohmann::json::parse(s->body, nullptr, false);
        if (!j.is_discarded() && j.value("digest", "") == digest->str())
          offset = j.value("offset", offset);
      }
    }
  }
}

}  // namespace outpost::cli
