#pragma once
// Outgoing HTTP: the I/O seam between Outpost and every upstream. The production implementation
// is libcurl (CurlHttpClient); tests substitute fakes. Redirects are never followed here: callers
// decide per hop, so credentials cannot leak to another host.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "http/message.hpp"

namespace outpost::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent when non-empty (POST)
  // When set, the request body streams from this file (PUT uploads of large blobs); `body` is
  // ignored.
  std::optional<std::filesystem::path> body_file;
  std::uint64_t body_offset = 0;             // with body_file: send from this byte
  std::optional<std::uint64_t> body_length;  // with body_file: this many bytes (else to its end)
  // Signs the request with AWS Signature Version 4 (libcurl's CURLOPT_AWS_SIGV4), for S3:
  // provider "aws:amz:<region>:s3" and the key pair. The caller sends x-amz-content-sha256.
  struct AwsSigV4 {
    std::string provider;
    std::string access_key;
    std::string secret_key;  // never logged
  };
  std::optional<AwsSigV4> aws_sigv4;
  Millis connect_timeout = std::chrono::seconds(5);
  Millis total_timeout{0};  // 0: no overall bound (large downloads)
  Millis stall_timeout{0};  // 0: none; else abort when no byte arrives for this long
  bool insecure = false;    // skip TLS verification
  const std::atomic<bool>* cancel = nullptr;  // polled; true aborts with Errc::cancelled
  // The largest 2xx body buffered (not given to a sink), and what it is, for the message: a
  // larger one fails this request with Errc::too_large ("manifest over 4194304 bytes"), which is
  // the request's error and never a sign the upstream is down. Other bodies (error answers) are
  // kept up to kMaxErrorBody and the rest dropped.
  std::size_t max_body = 1 << 20;
  const char* body_name = "answer";
};

inline constexpr std::size_t kMaxErrorBody = 64 * 1024;

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;  // buffered body (error bodies only, when a sink takes 2xx bytes)
};

// Receives a 2xx body as it arrives. Returning false aborts the transfer (Errc::cancelled).
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual bool on_start(int status, const Headers& headers) = 0;
  virtual bool on_data(std::span<const char> bytes) = 0;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Transport failures are Errc::upstream_unavailable (or Errc::timeout / Errc::cancelled); any
  // HTTP status is a success at this level. With a sink, 2xx bodies go to the sink; others are
  // buffered within the request's bounds (max_body, kMaxErrorBody).
  virtual Result<ClientResponse> perform(const ClientRequest& req, BodySink* sink = nullptr) = 0;
};

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient();
  ~CurlHttpClient() override;
  Result<ClientResponse> perform(const ClientRequest& req, BodySink* sink) override;

 private:
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace outpost::http
