#include "s3/client.hpp"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <pugixml.hpp>

#include <algorithm>
#include <random>

#include "core/digest.hpp"
#include "core/encoding.hpp"
#include "http/retry_after.hpp"
#include "s3/metric_defs.hpp"

namespace outpost::s3 {
namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kUnsigned = "UNSIGNED-PAYLOAD";
constexpr std::size_t kMaxXmlAnswer = 16u << 20;  // a list page of 1000 keys is ~250 KiB

// A key as it goes in the URL: each byte but unreserved characters and '/' percent-encoded.
std::string encode_key(std::string_view key) {
  std::string out;
  std::size_t start = 0;
  while (start <= key.size()) {
    auto slash = key.find('/', start);
    if (slash == std::string_view::npos) slash = key.size();
    out += percent_encode(key.substr(start, slash - start));
    if (slash < key.size()) out += '/';
    start = slash + 1;
  }
  return out;
}

std::string md5_base64(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

bool retryable(const S3Status& s) {
  return s.status >= 500 || s.code == "SlowDown" || s.code == "RequestTimeout" ||
         s.code == "InternalError" || s.status == 429;
}

// Passes a body on, remembering whether any of it was.
struct Watched final : http::BodySink {
  explicit Watched(http::BodySink* to) : to(to) {}
  bool on_start(int status, const http::Headers& h) override { return to->on_start(status, h); }
  bool on_data(std::span<const char> bytes) override {
    received += bytes.size();
    return to->on_data(bytes);
  }
  http::BodySink* to;
  std::uint64_t received = 0;
};

}  // namespace

S3Status parse_error(int status, std::string_view body) {
  S3Status s{status, {}};
  pugi::xml_document doc;
  if (doc.load_buffer(body.data(), body.size())) s.code = doc.child("Error").child_value("Code");
  return s;
}

Client::Client(S3Config cfg, http::HttpClient& http, Metrics& metrics, const Clock& clock)
    : cfg_(std::move(cfg)),
      http_(http),
      clock_(clock),
      requests_(metrics.counter(metric::requests_total)),
      bytes_(metrics.counter(metric::bytes_total)),
      seconds_(metrics.counter(metric::request_seconds_total)) {}

std::string Client::url(std::string_view key, std::string_view query) const {
  auto u = fmt::format("{}/{}/{}", cfg_.endpoint, cfg_.bucket,
                       encode_key(cfg_.prefix + std::string(key)));
  if (!query.empty()) u += fmt::format("?{}", query);
  return u;
}

std::string Client::bucket_url(std::string_view query) const {
  return fmt::format("{}/{}?{}", cfg_.endpoint, cfg_.bucket, query);
}

Error Client::error_of(const char* op, std::string_view key, const http::ClientResponse& r) const {
  auto s = parse_error(r.status, r.body);
  const auto code = s.code.empty() ? fmt::format("HTTP {}", r.status) : s.code;
  const auto what = key.empty() ? fmt::format("bucket {}", cfg_.bucket)
                                : fmt::format("bucket {} key {}{}", cfg_.bucket, cfg_.prefix, key);
  Errc e = Errc::upstream_error;
  if (s.code == "NoSuchKey" || s.code == "NoSuchBucket" || (s.code.empty() && r.status == 404))
    e = Errc::not_found;
  else if (r.status == 401 || r.status == 403)
    e = Errc::unauthorized;
  else if (retryable(s))
    e = Errc::upstream_unavailable;
  return {e, fmt::format("S3 {} {}: {} (HTTP {})", op, what, code, r.status)};
}

Result<http::ClientResponse> Client::send(const char* op, http::ClientRequest req,
                                          std::string_view payload_sha256, http::BodySink* sink) {
  req.aws_sigv4 = http::ClientRequest::AwsSigV4{fmt::format("aws:amz:{}:s3", cfg_.region),
                                                cfg_.access_key, cfg_.secret_key};
  req.headers.emplace_back("x-amz-content-sha256", std::string(payload_sha256));
  req.insecure = cfg_.insecure;
  req.connect_timeout = std::min<Millis>(cfg_.timeout, std::chrono::seconds(10));
  if (sink)
    req.stall_timeout = cfg_.timeout;
  else if (!req.body_file)
    req.total_timeout = cfg_.timeout;
  else
    req.stall_timeout = cfg_.timeout;
  static thread_local std::minstd_rand jitter{std::random_device{}()};
  Millis pause{100};
  for (int attempt = 1;; ++attempt) {
    std::optional<Watched> watched;
    if (sink) watched.emplace(sink);
    const auto start = clock_.steady_now();
    auto r = http_.perform(req, sink ? &*watched : nullptr);
    seconds_.add({{"op", op}}, std::chrono::duration<double>(clock_.steady_now() - start).count());
    if (watched) bytes_.add({{"direction", "down"}}, static_cast<double>(watched->received));
    const bool cut_midway = watched && watched->received > 0;  // the caller resumes
    std::optional<Millis> asked;
    bool again = false;
    if (!r) {
      again = r.error().code == Errc::upstream_unavailable || r.error().code == Errc::timeout;
    } else if (r->status >= 300) {
      again = retryable(parse_error(r->status, r->body));
      if (again) asked = http::asked_pause(*r, clock_.system_now());
    }
    if (!again || cut_midway || attempt >= cfg_.max_attempts) {
      const char* outcome = !r                 ? "error"
                            : r->status < 300  ? "ok"
                            : r->status == 404 ? "not_found"
                                               : "error";
      requests_.add({{"op", op}, {"outcome", outcome}});
      if (r && r->status < 300 && req.body_file)
        bytes_.add({{"direction", "up"}}, static_cast<double>(req.body_length.value_or(0)));
      return r;
    }
    requests_.add({{"op", op}, {"outcome", "retried"}});
    auto wait = asked ? std::min<Millis>(*asked, std::chrono::seconds(30))
                      : Millis(pause.count() / 2 + jitter() % (pause.count() / 2 + 1));
    std::atomic<bool> never{false};
    clock_.sleep_for(wait, req.cancel ? *req.cancel : never);
    if (req.cancel && *req.cancel) return fail(Errc::cancelled, "cancelled");
    pause = std::min<Millis>(pause * 2, std::chrono::seconds(10));
  }
}

Result<void> Client::check_bucket() {
  http::ClientRequest req;
  req.url = bucket_url("list-type=2&max-keys=1");
  req.max_body = kMaxXmlAnswer;
  auto r = send("list", std::move(req), kEmptySha256);
  if (!r)
    return fail(r.error().code, fmt::format("S3 bucket {} at {}: {}", cfg_.bucket, cfg_.endpoint,
                                            r.error().message));
  if (r->status != 200) return std::unexpected(error_of("list", "", *r));
  return {};
}

Result<http::ClientResponse> Client::get(std::string_view key, std::uint64_t offset,
                                         http::BodySink& sink, const std::atomic<bool>* cancel) {
  http::ClientRequest req;
  req.url = url(key);
  req.cancel = cancel;
  if (offset > 0) req.headers.emplace_back("Range", fmt::format("bytes={}-", offset));
  auto r = send("get", std::move(req), kEmptySha256, &sink);
  if (r && r->status >= 300) return std::unexpected(error_of("get", key, *r));
  return r;
}

Result<void> Client::put_bytes(std::string_view key, std::string_view bytes) {
  http::ClientRequest req;
  req.method = "PUT";
  req.url = url(key);
  req.body = std::string(bytes);
  if (bytes.empty()) req.headers.emplace_back("Content-Length", "0");
  auto r = send("put", std::move(req), sha256_of(bytes).hex());
  if (!r) return std::unexpected(r.error());
  if (r->status >= 300) return std::unexpected(error_of("put", key, *r));
  bytes_.add({{"direction", "up"}}, static_cast<double>(bytes.size()));
  return {};
}

Result<void> Client::put_file(std::string_view key, const std::filesystem::path& file,
                              std::uint64_t size, std::string_view sha256_hex) {
  if (size > cfg_.multipart_threshold) return put_multipart(key, file, size);
  http::ClientRequest req;
  req.method = "PUT";
  req.url = url(key);
  req.body_file = file;
  req.body_length = size;
  auto r = send("put", std::move(req), sha256_hex);
  if (!r) return std::unexpected(r.error());
  if (r->status >= 300) return std::unexpected(error_of("put", key, *r));
  return {};
}

Result<void> Client::put_multipart(std::string_view key, const std::filesystem::path& file,
                                   std::uint64_t size) {
  http::ClientRequest init;
  init.method = "POST";
  init.url = url(key, "uploads=");
  init.headers.emplace_back("Content-Length", "0");
  auto r = send("put_start", std::move(init), kEmptySha256);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(error_of("put_start", key, *r));
  pugi::xml_document doc;
  doc.load_buffer(r->body.data(), r->body.size());
  const std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (upload_id.empty()) return fail(Errc::upstream_error, "S3 sent no UploadId");
  const auto id_query = "uploadId=" + percent_encode(upload_id);
  auto abort = [&](Error e) -> Result<void> {
    http::ClientRequest del;
    del.method = "DELETE";
    del.url = url(key, id_query);
    (void)send("put_abort", std::move(del), kEmptySha256);
    return std::unexpected(std::move(e));
  };
  std::string complete = "<CompleteMultipartUpload>";
  int part = 1;
  for (std::uint64_t off = 0; off < size; off += cfg_.part_size, ++part) {
    http::ClientRequest p;
    p.method = "PUT";
    p.url = url(key, fmt::format("partNumber={}&{}", part, id_query));
    p.body_file = file;
    p.body_offset = off;
    p.body_length = std::min(cfg_.part_size, size - off);
    auto pr = send("put_part", std::move(p), kUnsigned);
    if (!pr) return abort(pr.error());
    if (pr->status >= 300) return abort(error_of("put_part", key, *pr));
    auto etag = pr->headers.get("ETag");
    if (!etag) return abort({Errc::upstream_error, "S3 sent no ETag for a part"});
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", part, *etag);
  }
  complete += "</CompleteMultipartUpload>";
  http::ClientRequest done;
  done.method = "POST";
  done.url = url(key, id_query);
  const auto hash = sha256_of(complete);
  done.body = std::move(complete);
  auto dr = send("put_complete", std::move(done), hash.hex());
  if (!dr) return abort(dr.error());
  // S3 may answer 200 with an <Error> body to a CompleteMultipartUpload.
  if (dr->status >= 300 || !parse_error(dr->status, dr->body).code.empty())
    return abort(error_of("put_complete", key, *dr));
  return {};
}

Result<std::vector<std::string>> Client::remove(const std::vector<std::string>& keys) {
  std::vector<std::string> refused;
  for (std::size_t i = 0; i < keys.size(); i += 1000) {
    std::string body = "<Delete><Quiet>true</Quiet>";
    for (std::size_t j = i; j < std::min(keys.size(), i + 1000); ++j)
      body += fmt::format("<Object><Key>{}{}</Key></Object>", cfg_.prefix, keys[j]);
    body += "</Delete>";
    http::ClientRequest req;
    req.method = "POST";
    req.url = bucket_url("delete=");
    req.headers.emplace_back("Content-MD5", md5_base64(body));
    req.headers.emplace_back("Content-Type", "application/xml");
    req.max_body = kMaxXmlAnswer;
    const auto hash = sha256_of(body);
    req.body = std::move(body);
    auto r = send("delete", std::move(req), hash.hex());
    if (!r) return std::unexpected(r.error());
    if (r->status != 200) return std::unexpected(error_of("delete", "", *r));
    pugi::xml_document doc;
    doc.load_buffer(r->body.data(), r->body.size());
    for (auto e : doc.child("DeleteResult").children("Error")) {
      std::string k = e.child_value("Key");
      refused.push_back(k.starts_with(cfg_.prefix) ? k.substr(cfg_.prefix.size()) : k);
    }
  }
  return refused;
}

namespace {

// S3's LastModified ("2026-12-06T21:37:31.000Z") as Unix seconds; 0 when unreadable.
UnixSeconds parse_s3_time(const char* text) {
  std::tm tm{};
  if (std::sscanf(text, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<UnixSeconds>(timegm(&tm));
}

}  // namespace

Result<ListPage> Client::list(std::string_view under, std::string_view token, int max_keys,
                              std::string_view start_after) {
  http::ClientRequest req;
  auto q = fmt::format("list-type=2&max-keys={}&prefix={}", max_keys,
                       percent_encode(cfg_.prefix + std::string(under)));
  if (!token.empty()) q += "&continuation-token=" + percent_encode(token);
  if (!start_after.empty())
    q += "&start-after=" + percent_encode(cfg_.prefix + std::string(start_after));
  req.url = bucket_url(q);
  req.max_body = kMaxXmlAnswer;
  auto r = send("list", std::move(req), kEmptySha256);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(error_of("list", "", *r));
  pugi::xml_document doc;
  if (!doc.load_buffer(r->body.data(), r->body.size()))
    return fail(Errc::upstream_error, "S3 sent an unreadable list");
  ListPage page;
  auto res = doc.child("ListBucketResult");
  for (auto c : res.children("Contents")) {
    std::string k = c.child_value("Key");
    if (!k.starts_with(cfg_.prefix)) continue;
    page.objects.push_back({k.substr(cfg_.prefix.size()),
                            std::strtoull(c.child_value("Size"), nullptr, 10),
                            parse_s3_time(c.child_value("LastModified"))});
  }
  if (std::string_view(res.child_value("IsTruncated")) == "true")
    page.next_token = res.child_value("NextContinuationToken");
  return page;
}

}  // namespace outpost::s3
