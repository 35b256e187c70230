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
  ProgressBar bar("checking " + file.filename().string());
  return sha256_of_file(file, [&](std::uint64_t done) {
    bar.bytes(done, size);
    return true;
  });
}

std::string message_of(const http::ClientResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string())
    return j["error"];
  return fmt::format("HTTP {}", r.status);
}

// One upload of a file to a server's /api/v1/uploads/<name>/<version>, chunk by chunk.
struct Upload {
  http::HttpClient& client;
  const std::string url;
  const std::vector<std::pair<std::string, std::string>>& auth;
  const fs::path& file;
  const std::uint64_t size;
  const Digest digest;
  const std::string release;  // "<name> <version>", for messages

  http::ClientRequest request(std::string method) const {
    http::ClientRequest req;
    req.method = std::move(method);
    req.url = url;
    req.headers = auth;
    req.total_timeout = std::chrono::seconds(30);
    return req;
  }

  // How many bytes of this file the server holds, if its upload is of this file (none
  // otherwise); `announce` says so on stderr, and an upload of another file is dropped.
  std::optional<std::uint64_t> held(bool announce) const {
    auto r = client.perform(request("GET"), nullptr);
    if (!r || r->status != 200) return std::nullopt;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    if (j.value("digest", "") == digest.str() && j.value("size", std::uint64_t{0}) == size) {
      auto offset = j.value("offset", std::uint64_t{0});
      if (announce && offset > 0)
        std::cerr << fmt::format("resuming the upload at {} of {} bytes\n", offset, size);
      return offset;
    }
    if (announce) {
      std::cerr << fmt::format("replacing an unfinished upload of another file for {}\n", release);
      (void)client.perform(request("DELETE"), nullptr);
    }
    return std::nullopt;
  }

  Result<http::ClientResponse> put(std::uint64_t offset, std::string& chunk) const {
    auto req = request("PUT");
    req.total_timeout = Millis(0);
    req.stall_timeout = std::chrono::seconds(60);  // a slow link may take minutes per chunk
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    req.headers.emplace_back(
        "Content-Range", fmt::format("bytes {}-{}/{}", offset, offset + chunk.size() - 1, size));
    req.headers.emplace_back("X-Outpost-Bundle-Digest", digest.str());
    req.body = std::move(chunk);
    auto r = client.perform(req, nullptr);
    chunk = std::move(req.body);
    return r;
  }

  Result<void> run(int attempts) const;
};

Result<void> Upload::run(int attempts) const {
  std::uint64_t offset = held(true).value_or(0);
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(Errc::io, "cannot open " + file.string());
  ProgressBar bar("uploading " + release);
  std::string chunk;
  int failures = 0;
  auto pause = std::chrono::seconds(1);
  for (;;) {
    const auto len = std::min<std::uint64_t>(bundle::kUploadChunkBytes, size - offset);
    chunk.resize(len);
    auto n = ::pread(fd.get(), chunk.data(), len, static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(len)) return fail(Errc::io, "reading " + file.string());
    auto r = put(offset, chunk);
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
    // A full disk (507) will not clear by itself: only transport failures and 5xx blips are
    // retried.
    const bool retry = !r || (r->status >= 500 && r->status != 507) || r->status == 416;
    if (!retry) return fail(Errc::upstream_error, "upload refused: " + message_of(*r));
    if (++failures >= attempts)
      return fail(Errc::upstream_unavailable,
                  fmt::format("upload failed {} times in a row: {}", failures,
                              r ? message_of(*r) : r.error().message));
    if (r && r->status == 416) continue;
    bar.note(fmt::format("upload interrupted at {} bytes ({}); resuming", offset,
                         r ? message_of(*r) : r.error().message));
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::seconds(30));
    // The server may hold more than was acknowledged (a reply lost with the connection).
    offset = held(false).value_or(offset);
  }
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
  const Upload upload{client,
                      fmt::format("{}/api/v1/uploads/{}/{}", base, name, version),
                      auth,
                      file,
                      size,
                      *digest,
                      name + " " + version};
  return upload.run(attempts);
}

}  // namespace outpost::cli
