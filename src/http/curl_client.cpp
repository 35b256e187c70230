#include "core/mutex.hpp"
#include "http/client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>

namespace outpost::http {
namespace {

struct Transfer {
  const ClientRequest* req;
  BodySink* sink;
  ClientResponse resp;
  bool started = false;
  bool sink_refused = false;
  bool buffer_overflow = false;
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  bool stalled = false;
  curl_off_t last_dl = 0;
  std::FILE* upload = nullptr;
  std::uint64_t upload_left = 0;  // bytes of the body file still to send

  static std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::size_t want = std::min<std::uint64_t>(size * n, t->upload_left);
    std::size_t got = want ? std::fread(buf, 1, want, t->upload) : 0;
    if (got == 0 && std::ferror(t->upload)) return CURL_READFUNC_ABORT;
    t->upload_left -= got;
    return got;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {
      t->resp.headers = Headers();  // a new response (after 100-continue): start over
      return size * n;
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto name = line.substr(0, colon);
      auto value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
      t->resp.headers.add(std::string(name), std::string(value));
    }
    return size * n;
  }

  bool start(CURL* h) {
    if (started) return true;
    started = true;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    resp.status = static_cast<int>(code);
    if (sink && resp.status >= 200 && resp.status < 300) {
      if (!sink->on_start(resp.status, resp.headers)) sink_refused = true;
    }
    return !sink_refused;
  }

  CURL* handle = nullptr;

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::size_t len = size * n;
    if (!t->start(t->handle)) return 0;
    if (t->sink && t->resp.status >= 200 && t->resp.status < 300) {
      if (!t->sink->on_data(std::span<const char>(data, len))) {
        t->sink_refused = true;
        return 0;
      }
      return len;
    }
    const bool document = t->resp.status >= 200 && t->resp.status < 300;
    const std::size_t bound = document ? t->req->max_body : kMaxErrorBody;
    if (t->resp.body.size() + len > bound) {
      if (!document) {  // an error answer: its start says enough
        t->resp.body.append(data, bound - t->resp.body.size());
        return len;
      }
      t->buffer_overflow = true;
      return 0;
    }
    t->resp.body.append(data, len);
    return len;
  }

  static int on_progress(void* self, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
    auto* t = static_cast<Transfer*>(self);
    if (t->req->cancel && t->req->cancel->load()) return 1;
    if (t->req->stall_timeout.count() > 0) {
      auto now = std::chrono::steady_clock::now();
      if (dlnow + ulnow != t->last_dl) {
        t->last_dl = dlnow + ulnow;
        t->last_progress = now;
      } else if (now - t->last_progress > t->req->stall_timeout) {
        t->stalled = true;
        return 1;
      }
    }
    return 0;
  }
};

}  // namespace

struct CurlHttpClient::Pool {
  Mutex mu;
  std::vector<CURL*> idle GUARDED_BY(mu);  // reused so connections stay alive
  CURL* take() {
    MutexLock lock(mu);
    if (idle.empty()) return curl_easy_init();
    CURL* h = idle.back();
    idle.pop_back();
    curl_easy_reset(h);
    return h;
  }
  void give(CURL* h) {
    MutexLock lock(mu);
    if (idle.size() < 64)
      idle.push_back(h);
    else
      curl_easy_cleanup(h);
  }
  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
};

CurlHttpClient::CurlHttpClient() : pool_(std::make_unique<Pool>()) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlHttpClient::~CurlHttpClient() = default;

// The request body: a file (from body_offset, body_length bytes) streamed by on_read, or `body`.
Result<void> set_body(CURL* h, const ClientRequest& req, Transfer& t,
                      std::unique_ptr<std::FILE, decltype(&std::fclose)>& upload) {
  if (req.body_file) {
    upload.reset(std::fopen(req.body_file->c_str(), "rb"));
    if (!upload) return fail(Errc::io, "cannot open " + req.body_file->string());
    std::error_code ec;
    auto size = std::filesystem::file_size(*req.body_file, ec);
    if (ec) return fail(Errc::io, "cannot stat " + req.body_file->string());
    if (req.body_offset > size ||
        ::fseeko(upload.get(), static_cast<off_t>(req.body_offset), SEEK_SET) != 0)
      return fail(Errc::io, "cannot seek in " + req.body_file->string());
    size = std::min<std::uint64_t>(size - req.body_offset, req.body_length.value_or(UINT64_MAX));
    t.upload = upload.get();
    t.upload_left = size;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &Transfer::on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
  } else if (!req.body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  return {};
}

Result<ClientResponse> CurlHttpClient::perform(const ClientRequest& req, BodySink* sink) {
  CURL* h = pool_->take();
  if (!h) return fail(Errc::internal, "curl_easy_init failed");
  struct Giver {
    Pool& p;
    CURL* h;
    ~Giver() { p.give(h); }
  } giver{*pool_, h};

  Transfer t{&req, sink, {}};
  t.handle = h;
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  if (req.total_timeout.count() > 0)
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.total_timeout.count()));
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  std::unique_ptr<std::FILE, decltype(&std::fclose)> upload(nullptr, &std::fclose);
  if (auto b = set_body(h, req, t, upload); !b) return std::unexpected(b.error());
  if (req.aws_sigv4) {
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req.aws_sigv4->provider.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, req.aws_sigv4->access_key.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, req.aws_sigv4->secret_key.c_str());
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           curl_slist_free_all);
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);

  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) {
    if (!t.started && !t.start(h)) return fail(Errc::cancelled, "transfer refused by receiver");
    return std::move(t.resp);
  }
  if (t.sink_refused) return fail(Errc::cancelled, "transfer aborted by receiver");
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    if (t.stalled)
      return fail(Errc::timeout,
                  "no data from upstream for " + std::to_string(req.stall_timeout.count()) + " ms");
    return fail(Errc::cancelled, "transfer cancelled");
  }
  if (t.buffer_overflow)
    return fail(Errc::too_large, fmt::format("the {} is larger than its bound of {} bytes",
                                             req.body_name, req.max_body));
  if (rc == CURLE_OPERATION_TIMEDOUT) return fail(Errc::timeout, curl_easy_strerror(rc));
  return fail(Errc::upstream_unavailable, curl_easy_strerror(rc));
}

}  // namespace outpost::http
