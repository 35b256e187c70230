#pragma once
// An S3 client over the HTTP seam (http::HttpClient), signed with AWS Signature V4 by libcurl
// (CURLOPT_AWS_SIGV4: no SDK). Path-style requests (<endpoint>/<bucket>/<key>), so any
// S3-compatible store works (AWS, Ceph RGW, MinIO). Every request names its payload hash
// (x-amz-content-sha256: the body's SHA-256, or UNSIGNED-PAYLOAD for a streamed part), which RGW
// requires with curl's signing. Bounded retries with backoff (honouring Retry-After) on SlowDown,
// 5xx, RequestTimeout and dropped connections; other answers are returned as typed errors whose
// message names the bucket and S3's error code ("bucket outpost-hub: NoSuchBucket: …").
// Metrics: outpost_s3_requests_total{op,outcome}, outpost_s3_bytes_total{direction},
// outpost_s3_request_seconds_total{op}. Thread-safe.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "s3/config.hpp"

namespace outpost::s3 {

struct ObjectInfo {
  std::string key;  // without the configured prefix
  std::uint64_t size = 0;
  UnixSeconds last_modified = 0;  // 0 when S3 did not say
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::string next_token;  // "" on the last page
};

// An error answer from S3: its HTTP status and <Code> (for callers that branch on it).
struct S3Status {
  int status = 0;
  std::string code;  // NoSuchKey, NoSuchBucket, SlowDown, InvalidAccessKeyId, …
};

class Client {
 public:
  Client(S3Config cfg, http::HttpClient& http, Metrics& metrics,
         const Clock& clock = Clock::system());

  const S3Config& config() const { return cfg_; }
  // Lists one key of the bucket: the start-up check. Errc::unauthorized for refused credentials
  // (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied), Errc::not_found for NoSuchBucket,
  // Errc::upstream_unavailable when S3 cannot be reached; each message names the bucket and code.
  Result<void> check_bucket();
  // Streams <prefix><key> from `offset` into `sink` (2xx only). Errc::not_found for NoSuchKey.
  // Retries only before the first byte (the caller resumes a body cut midway).
  Result<http::ClientResponse> get(std::string_view key, std::uint64_t offset, http::BodySink& sink,
                                   const std::atomic<bool>* cancel = nullptr);
  // Puts `file` (its first `size` bytes, whose SHA-256 is `sha256_hex`) at <prefix><key>: one
  // PUT, or a multipart upload above multipart_threshold (aborted on failure, so no part stays).
  Result<void> put_file(std::string_view key, const std::filesystem::path& file, std::uint64_t size,
                        std::string_view sha256_hex);
  Result<void> put_bytes(std::string_view key, std::string_view bytes);
  // Deletes keys in batches of up to 1000 (DeleteObjects). Returns the keys S3 refused.
  Result<std::vector<std::string>> remove(const std::vector<std::string>& keys);
  // One page of the keys under <prefix><under>, in key order.
  // `start_after` (a key without the prefix) starts the listing after it: a cursor that, unlike
  // a continuation token, stays valid across runs.
  Result<ListPage> list(std::string_view under, std::string_view token, int max_keys = 1000,
                        std::string_view start_after = {});

 private:
  // Sends one request with the signature, the payload hash and the retry policy. `op` names it
  // in the metrics. `sink`: a GET's body.
  Result<http::ClientResponse> send(const char* op, http::ClientRequest req,
                                    std::string_view payload_sha256,
                                    http::BodySink* sink = nullptr);
  std::string url(std::string_view key, std::string_view query = {}) const;
  std::string bucket_url(std::string_view query) const;
  Error error_of(const char* op, std::string_view key, const http::ClientResponse& r) const;
  Result<void> put_multipart(std::string_view key, const std::filesystem::path& file,
                             std::uint64_t size);

  const S3Config cfg_;
  http::HttpClient& http_;
  const Clock& clock_;
  MetricFamily& requests_;
  MetricFamily& bytes_;
  MetricFamily& seconds_;
};

// S3's <Error><Code> from an error body ("" when there is none).
S3Status parse_error(int status, std::string_view body);

}  // namespace outpost::s3
