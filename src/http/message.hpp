#pragma once
// HTTP request/response values shared by the server and the handlers. Handlers are plain
// functions Request -> Response, testable without sockets; this header has no Asio/Beast in it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace outpost::http {

class Headers {
 public:
  // Case-insensitive lookup of the first header with this name.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every header with this name, joined with ", " (RFC 9110 list syntax); "" when none.
  std::string joined(std::string_view name) const;
  void add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  void set(std::string name, std::string value);
  // Whether any header's name starts with `prefix` (case-insensitive).
  bool has_prefixed(std::string_view prefix) const;
  // Removes every header whose name starts with `prefix` (case-insensitive); how many went.
  std::size_t erase_prefixed(std::string_view prefix);
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;                                      // upper case, as sent
  std::string target;                                      // raw request-target
  std::string path;                                        // percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded parameters, in order
  Headers headers;
  std::string body;
  std::string remote;  // peer address, for logs

  std::optional<std::string_view> query_param(std::string_view name) const;
  // Parses target into path and query. Errc::invalid_argument for a malformed target.
  static Result<Request> make(std::string method, std::string target);
};

// Bytes of a body that another thread is still producing (a blob being fetched upstream).
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Copies bytes at `offset` into buf. 0 means none available yet (call notify_when_readable);
  // an error means the stream failed and the response must be aborted, never completed short.
  virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buf) = 0;
  // Calls `wake` once, from any thread, as soon as bytes beyond `offset` exist or the stream has
  // ended (immediately if that is already so).
  virtual void notify_when_readable(std::uint64_t offset, std::function<void()> wake) = 0;
  // An open-ended stream (StreamBody::open_ended): whether it ended cleanly with `offset` bytes.
  virtual bool ended_at(std::uint64_t offset) { return false; }
};

struct FileBody {
  UniqueFd fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct StreamBody {
  std::shared_ptr<StreamSource> source;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // Length unknown until the source ends (sent chunked from `offset`; `length` unused): complete
  // once ended_at says so, cut (no final chunk) if the source fails.
  bool open_ended = false;
};

// Bytes a child process writes to a pipe, of unknown length: sent with chunked encoding.
class PipeSource {
 public:
  virtual ~PipeSource() = default;
  virtual int fd() const = 0;  // the readable end; the server reads it to EOF
  // Called after EOF. False means the producer failed: the response is aborted (no final chunk),
  // so the client sees an error rather than a clean, truncated stream.
  virtual bool finish() = 0;
};

struct PipeBody {
  std::shared_ptr<PipeSource> source;
};

// An immutable body shared with a cache (no copy per response).
struct SharedBody {
  std::shared_ptr<const std::string> bytes;
};

struct Response {
  int status = 200;
  Headers headers;
  std::variant<std::string, SharedBody, FileBody, StreamBody, PipeBody> body;
  // HEAD: headers (including Content-Length of the would-be body) and no body.
  bool omit_body = false;
  // Content-Length to announce when omit_body is set and body is empty (HEAD of a blob).
  std::optional<std::uint64_t> head_length;

  // REQUIRES: body is not a PipeBody (its length is unknown until sent).
  std::uint64_t content_length() const;
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response json(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

// How far a tiered handler may go for an answer. Reach::local: local state only (store, database,
// mirrors on disk); never an upstream call, nor a wait for one. Reach::upstream: anything.
enum class Reach { local, upstream };
// Called first with Reach::local; returns nothing when only an upstream can answer, and is then
// called again with Reach::upstream (where it must answer). So a request local state can answer
// never waits behind requests that wait on an upstream.
using TieredHandler = std::function<std::optional<Response>(const Request&, Reach)>;

std::string_view reason_phrase(int status);

}  // namespace outpost::http
