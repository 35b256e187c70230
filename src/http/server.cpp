#include "http/server.hpp"
#include "http/metric_defs.hpp"

#include <spdlog/spdlog.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "core/fd_limit.hpp"

namespace outpost::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

struct RouteEntry {
  std::string prefix;
  std::string group;
  Access access;
  Runs runs;
  TieredHandler handler;  // plain handlers are wrapped: they always answer
  std::size_t max_body;
};

// How a response went out: whole; cut by this side (a timeout, a failed producer); or cut because
// the client went away (it closed or reset the connection: everyday traffic, logged at debug).
enum class Sent { complete, aborted, client_gone };

bool client_went_away(const boost::system::error_code& ec) {
  return ec == asio::error::broken_pipe || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted || ec == asio::error::eof ||
         ec == asio::error::not_connected || ec == asio::ssl::error::stream_truncated;
}
Sent write_failed(const boost::system::error_code& ec) {
  return client_went_away(ec) ? Sent::client_gone : Sent::aborted;
}
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

struct Server::Impl {
  Impl(const ServerConfig& c, Metrics& m)
      : cfg(c),
        metrics(m),
        local_workers(static_cast<std::size_t>(c.local_threads)),
        api_workers(static_cast<std::size_t>(c.api_threads)),
        workers(static_cast<std::size_t>(c.worker_threads)),
        requests(m.counter(metric::http_requests_total)),
        bytes_out(m.counter(metric::http_response_bytes_total)),
        aborted(m.counter(metric::http_responses_aborted_total)),
        client_gone(m.counter(metric::http_client_gone_total)),
        accept_paused(m.counter(metric::http_accept_paused_total)),
        in_flight(m.gauge(metric::http_requests_in_flight)) {}

  const ServerConfig& cfg;
  Metrics& metrics;
  asio::io_context ioc;
  asio::thread_pool local_workers;  // Runs::local and the local tier of tiered routes
  asio::thread_pool api_workers;    // Runs::api: reads of the whole site, bounded apart
  asio::thread_pool workers;        // Runs::upstream and the upstream tier
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  std::vector<RouteEntry> routes;
  std::function<Response(int, std::string)> error_responder = [](int status, std::string msg) {
    return Response::text(status, msg + "\n");
  };
  std::function<void()> on_stop;
  Guard guard;
  std::optional<asio::ssl::context> tls;  // set when server.tls_cert_file is configured
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  MetricFamily& requests;
  MetricFamily& bytes_out;
  MetricFamily& aborted;
  MetricFamily& client_gone;
  MetricFamily& accept_paused;
  MetricFamily& in_flight;

  std::size_t largest_body_limit() const {
    std::size_t most = cfg.max_body_bytes;
    for (const auto& r : routes) most = std::max(most, r.max_body);
    return most;
  }

  const RouteEntry* find_route(std::string_view path) const {
    const RouteEntry* best = nullptr;
    for (const auto& r : routes) {
      if (path.starts_with(r.prefix) && (!best || r.prefix.size() > best->prefix.size())) best = &r;
    }
    return best;
  }

  static std::optional<Response> call(const TieredHandler& h, const Request& req, Reach reach) {
    try {
      return h(req, reach);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", req.method, req.path, e.what());
      return Response::text(500, "internal error\n");
    }
  }

  // The guard (it may hash a password) runs on the same thread as the first call of the handler.
  std::optional<Response> guarded(const RouteEntry& route, Request& req, Reach reach,
                                  bool check_guard) {
    if (check_guard && guard) {
      if (auto refused = guard(req, route.access.group_for(req.method))) return refused;
    }
    return call(route.handler, req, reach);
  }

  asio::awaitable<std::optional<Response>> on(asio::thread_pool& pool, const RouteEntry& route,
                                              Request& req, Reach reach, bool check_guard) {
    co_return co_await asio::co_spawn(
        pool,
        [&]() -> asio::awaitable<std::optional<Response>> {
          co_return guarded(route, req, reach, check_guard);
        },
        asio::use_awaitable);
  }

  asio::awaitable<Response> dispatch(Request& req, std::string& group) {
    const RouteEntry* route = find_route(req.path);
    if (!route) {
      group = "none";
      co_return error_responder(404, "no such endpoint");
    }
    group = route->group;
    std::optional<Response> r;
    bool checked = false;
    if (route->runs == Runs::inline_io) {
      r = guarded(*route, req, Reach::upstream, true);
    } else if (route->runs == Runs::local) {
      r = co_await on(local_workers, *route, req, Reach::local, true);
      checked = true;
    } else if (route->runs == Runs::api) {
      r = co_await on(api_workers, *route, req, Reach::local, true);
      checked = true;
    }
    if (!r) r = co_await on(workers, *route, req, Reach::upstream, !checked);
    if (r) co_return std::move(*r);
    spdlog::error("handler for {} {} gave no answer with upstream reach", req.method, req.path);
    co_return error_responder(500, "internal error");
  }

  // Cuts a transfer that makes no progress for write_timeout. One timer per transfer, re-armed
  // only when it fires (not per write), so the hot sendfile loop pays nothing for it.
  class Watchdog {
   public:
    Watchdog(tcp::socket& sock, Millis timeout)
        : state_(std::make_shared<State>(sock.get_executor())), timeout_(timeout) {
      state_->sock = &sock;
      arm(state_, timeout_);
    }
    ~Watchdog() {
      state_->sock = nullptr;  // the handler may still run: it must not touch the socket
      state_->timer.cancel();
    }
    void progress() { state_->last = std::chrono::steady_clock::now(); }
    bool fired() const { return state_->fired; }

   private:
    struct State {
      explicit State(const tcp::socket::executor_type& ex) : timer(ex) {}
      asio::steady_timer timer;
      tcp::socket* sock = nullptr;
      std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
      bool fired = false;
    };
    static void arm(std::shared_ptr<State> st, Millis timeout) {
      st->timer.expires_at(st->last + timeout);
      st->timer.async_wait([st, timeout](const boost::system::error_code& ec) {
        if (ec || !st->sock) return;
        if (std::chrono::steady_clock::now() - st->last < timeout) return arm(st, timeout);
        st->fired = true;
        boost::system::error_code ignored;
        st->sock->cancel(ignored);
      });
    }
    std::shared_ptr<State> state_;
    Millis timeout_;
  };

  // TLS: the bytes must go through the SSL stream, so no sendfile; reads at the file's offsets.
  // The send_* functions add the body bytes that went out to `bytes`.
  asio::awaitable<Sent> send_file(TlsStream& stream, FileBody& fb, std::uint64_t& bytes) {
    std::vector<char> buf(256 * 1024);
    std::uint64_t off = fb.offset, left = fb.length;
    while (left > 0) {
      ssize_t n = ::pread(fb.fd.get(), buf.data(), std::min<std::uint64_t>(left, buf.size()),
                          static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) co_return Sent::aborted;  // error, or the file is shorter than announced
      beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
      auto [ec, w] = co_await asio::async_write(
          stream, asio::buffer(buf.data(), static_cast<std::size_t>(n)), nothrow);
      bytes += w;
      if (ec) co_return write_failed(ec);
      off += static_cast<std::uint64_t>(n);
      left -= static_cast<std::uint64_t>(n);
    }
    co_return Sent::complete;
  }

  asio::awaitable<Sent> send_file(beast::tcp_stream& stream, FileBody& fb, std::uint64_t& bytes) {
    auto& sock = stream.socket();
    sock.native_non_blocking(true);
    Watchdog watchdog(sock, cfg.write_timeout);
    off_t off = static_cast<off_t>(fb.offset);
    std::uint64_t left = fb.length;
    while (left > 0) {
      ssize_t n = ::sendfile(sock.native_handle(), fb.fd.get(), &off,
                             std::min<std::uint64_t>(left, 4 << 20));
      if (n > 0) {
        left -= static_cast<std::uint64_t>(n);
        bytes += static_cast<std::uint64_t>(n);
        watchdog.progress();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        auto [ec] = co_await sock.async_wait(tcp::socket::wait_write, nothrow);
        if (watchdog.fired()) co_return Sent::aborted;
        if (ec) co_return write_failed(ec);
        continue;
      }
      // EPIPE (SIGPIPE is ignored) or ECONNRESET: the client closed mid-body.
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) co_return Sent::client_gone;
      co_return Sent::aborted;  // another error, or the file is shorter than announced
    }
    co_return Sent::complete;
  }

  template <class Stream>
  asio::awaitable<Sent> send_stream(Stream& stream, StreamBody& sb, std::uint64_t& bytes) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<char> buf(256 * 1024);
    std::uint64_t off = sb.offset;
    const std::uint64_t end = sb.offset + sb.length;
    while (off < end) {
      auto n = sb.source->read_at(
          off, std::span(buf.data(), std::min<std::uint64_t>(buf.size(), end - off)));
      if (!n) co_return Sent::aborted;
      if (*n > 0) {
        beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
        auto [ec, w] = co_await asio::async_write(stream, asio::buffer(buf.data(), *n), nothrow);
        bytes += w;
        if (ec) co_return write_failed(ec);
        off += *n;
        continue;
      }
      // Nothing yet: sleep until the producer wakes us. The wake is posted to this strand, so it
      // runs after we are suspended in async_wait and cannot be lost.
      auto timer = std::make_shared<asio::steady_timer>(ex, std::chrono::minutes(10));
      sb.source->notify_when_readable(
          off, [timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); });
      auto [ec] = co_await timer->async_wait(nothrow);
      if (!ec) co_return Sent::aborted;  // the producer stalled beyond any sane bound
    }
    co_return Sent::complete;
  }

  // An open-ended stream, chunked: each read is one chunk; the final chunk once the source says
  // it ended cleanly. Adds the body bytes sent to `bytes`.
  template <class Stream>
  asio::awaitable<Sent> send_open_stream(Stream& stream, StreamBody& sb, std::uint64_t& bytes) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<char> buf(256 * 1024);
    std::uint64_t off = sb.offset;
    for (;;) {
      auto n = sb.source->read_at(off, std::span(buf.data(), buf.size()));
      if (!n) co_return Sent::aborted;
      if (*n > 0) {
        char size_line[24];
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", *n);
        std::array<asio::const_buffer, 3> chunk{
            asio::buffer(size_line, static_cast<std::size_t>(len)), asio::buffer(buf.data(), *n),
            asio::buffer("\r\n", 2)};
        beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
        auto [ec, w] = co_await asio::async_write(stream, chunk, nothrow);
        if (ec) co_return write_failed(ec);
        off += *n;
        bytes += *n;
        continue;
      }
      if (sb.source->ended_at(off)) break;
      auto timer = std::make_shared<asio::steady_timer>(ex, std::chrono::minutes(10));
      sb.source->notify_when_readable(
          off, [timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); });
      auto [ec] = co_await timer->async_wait(nothrow);
      if (!ec) co_return Sent::aborted;
    }
    beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
    auto [ec, w] = co_await asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), nothrow);
    co_return ec ? write_failed(ec) : Sent::complete;
  }

  // Reads the pipe to EOF, sending each read as one chunk; the final chunk only if the producer
  // finished cleanly. Adds the body bytes sent to `bytes`.
  template <class Stream>
  asio::awaitable<Sent> send_pipe(Stream& stream, PipeBody& pb, std::uint64_t& bytes) {
    auto ex = co_await asio::this_coro::executor;
    int fd = ::dup(pb.source->fd());
    if (fd < 0) co_return Sent::aborted;
    asio::posix::stream_descriptor pipe(ex, fd);
    std::vector<char> buf(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buf), nothrow);
      if (ec == asio::error::eof) break;
      if (ec) co_return Sent::aborted;
      char size_line[24];
      int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
      std::array<asio::const_buffer, 3> chunk{
          asio::buffer(size_line, static_cast<std::size_t>(len)), asio::buffer(buf.data(), n),
          asio::buffer("\r\n", 2)};
      beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
      auto [wec, w] = co_await asio::async_write(stream, chunk, nothrow);
      if (wec) co_return write_failed(wec);
      bytes += n;
    }
    if (!pb.source->finish()) co_return Sent::aborted;
    beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
    auto [ec, w] = co_await asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), nothrow);
    co_return ec ? write_failed(ec) : Sent::complete;
  }

  template <class Stream>
  asio::awaitable<Sent> write_response(Stream& stream, const Request& req, Response& resp,
                                       bool keep_alive, std::uint64_t& bytes) {
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(resp.status), 11};
    head.reason(reason_phrase(resp.status));
    for (const auto& [k, v] : resp.headers.items()) head.insert(k, v);
    head.keep_alive(keep_alive);
    auto* pipe = std::get_if<PipeBody>(&resp.body);
    auto* open = std::get_if<StreamBody>(&resp.body);
    if (open && !open->open_ended) open = nullptr;
    const std::uint64_t length = pipe || open ? 0 : resp.content_length();
    if (pipe || open) {
      head.chunked(true);
    } else {
      head.content_length(length);
    }
    bhttp::response_serializer<bhttp::empty_body> sr{head};
    beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream, sr, nothrow);
    if (ec) co_return write_failed(ec);
    if (pipe) co_return co_await send_pipe(stream, *pipe, bytes);
    if (open) co_return co_await send_open_stream(stream, *open, bytes);
    if (resp.omit_body || req.method == "HEAD" || length == 0) co_return Sent::complete;
    if (auto* sb = std::get_if<SharedBody>(&resp.body)) {
      beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
      auto [ec2, m] = co_await asio::async_write(stream, asio::buffer(*sb->bytes), nothrow);
      bytes += m;
      co_return ec2 ? write_failed(ec2) : Sent::complete;
    }
    if (auto* s = std::get_if<std::string>(&resp.body)) {
      beast::get_lowest_layer(stream).expires_after(cfg.write_timeout);
      auto [ec2, m] = co_await asio::async_write(stream, asio::buffer(*s), nothrow);
      bytes += m;
      co_return ec2 ? write_failed(ec2) : Sent::complete;
    }
    if (auto* f = std::get_if<FileBody>(&resp.body))
      co_return co_await send_file(stream, *f, bytes);
    co_return co_await send_stream(stream, std::get<StreamBody>(resp.body), bytes);
  }

  asio::awaitable<void> session(tcp::socket socket) {
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    if (!tls) {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream, remote);
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
      co_return;
    }
    TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
    beast::get_lowest_layer(stream).expires_after(cfg.read_timeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
    if (hec) {
      spdlog::info("access {} \"- -\" 0 0B 0ms tls handshake failed: {}", remote, hec.message());
    } else {
      co_await serve(stream, remote);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(nothrow);
    }
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  }

  // Reads one request: the header first, for the route decides how large a body it accepts.
  template <class Stream>
  asio::awaitable<boost::system::error_code> read_request(
      Stream& stream, beast::flat_buffer& buffer,
      bhttp::request_parser<bhttp::string_body>& parser) {
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
    // Beast checks a Content-Length against the limit while it reads the header, before the
    // route is known: the largest route limit there, the route's own right after.
    parser.body_limit(largest_body_limit());
    beast::get_lowest_layer(stream).expires_after(cfg.read_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, nothrow);
    if (!ec && !parser.is_done()) {
      const RouteEntry* r = find_route(parser.get().target());
      const std::size_t limit = r ? r->max_body : cfg.max_body_bytes;
      if (auto length = parser.content_length(); length && *length > limit)
        ec = bhttp::error::body_limit;
      else
        parser.body_limit(limit);  // a chunked body is checked as it comes
    }
    if (!ec && !parser.is_done()) {
      beast::get_lowest_layer(stream).expires_after(cfg.read_timeout);
      std::tie(ec, n) = co_await bhttp::async_read(stream, buffer, parser, nothrow);
    }
    co_return ec;
  }

  // A request that could not be read: 431, 413 or 400 when the framing was at fault (a closed
  // or timed-out connection gets nothing).
  template <class Stream>
  asio::awaitable<void> refuse_framing(Stream& stream, const std::string& remote,
                                       const boost::system::error_code& ec) {
    int status = 0;
    if (ec == bhttp::error::header_limit)
      status = 431;
    else if (ec == bhttp::error::body_limit)
      status = 413;
    else if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
      status = 400;
    if (!status) co_return;
    Request dummy;
    dummy.method = "GET";
    Response r = error_responder(status, status == 431   ? "request headers too large"
                                         : status == 413 ? "request body too large"
                                                         : "malformed HTTP request");
    requests.add({{"route", "none"}, {"method", "-"}, {"status", std::to_string(status)}});
    spdlog::info("access {} \"- -\" {} 0B 0ms {}", remote, status, ec.message());
    std::uint64_t ignored_bytes = 0;
    co_await write_response(stream, dummy, r, false, ignored_bytes);
  }

  // One access line and the request metrics. A client that went away is everyday traffic (a
  // deleted pod's pull, a kubelet timeout): one debug line, no more.
  void account(const std::string& remote, const Request& req, const Response& resp,
               const std::string& group, std::uint64_t bytes, long long ms, Sent sent) {
    requests.add(
        {{"route", group}, {"method", req.method}, {"status", std::to_string(resp.status)}});
    bytes_out.add({{"route", group}}, static_cast<double>(bytes));
    if (sent == Sent::complete) {
      spdlog::info("access {} \"{} {}\" {} {}B {}ms {}", remote, req.method, req.target,
                   resp.status, bytes, ms, group);
    } else if (sent == Sent::client_gone) {
      client_gone.add({{"route", group}});
      spdlog::debug("access {} \"{} {}\" {} {}B {}ms {} client went away after {} bytes", remote,
                    req.method, req.target, resp.status, bytes, ms, group, bytes);
    } else {
      aborted.add({{"route", group}});
      spdlog::info("access {} \"{} {}\" {} {}B {}ms {} aborted", remote, req.method, req.target,
                   resp.status, bytes, ms, group);
    }
  }

  // One connection's requests, in order, until the client or an error ends it.
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const std::string& remote) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      if (auto ec = co_await read_request(stream, buffer, parser)) {
        co_await refuse_framing(stream, remote, ec);
        break;
      }
      auto& raw = parser.get();
      auto start = std::chrono::steady_clock::now();
      std::string group;
      ++active;
      in_flight.add({}, 1);
      Request req;
      Response resp;
      auto made = Request::make(std::string(raw.method_string()), std::string(raw.target()));
      if (!made) {
        group = "none";
        req.method = std::string(raw.method_string());
        req.target = std::string(raw.target());
        resp = error_responder(400, made.error().message);
      } else {
        req = std::move(*made);
        for (const auto& f : raw)
          req.headers.add(std::string(f.name_string()), std::string(f.value()));
        req.body = std::move(raw.body());
        req.remote = remote;
        resp = co_await dispatch(req, group);
      }
      bool keep = raw.keep_alive() && !stopping;
      std::uint64_t bytes = 0;
      Sent sent = co_await write_response(stream, req, resp, keep, bytes);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
      account(remote, req, resp, group, bytes, ms, sent);
      in_flight.add({}, -1);
      --active;
      if (sent != Sent::complete || !keep) break;
    }
  }

  // Out of descriptors, accept fails at once for as long as connections wait: the loop pauses
  // instead of spinning, and says so once per interval with a count.
  static constexpr auto kAcceptPause = std::chrono::milliseconds(100);
  static constexpr auto kAcceptLogInterval = std::chrono::seconds(10);

  asio::awaitable<void> accept_loop() {
    asio::steady_timer pause(ioc);
    std::uint64_t refused = 0;
    auto last_log = std::chrono::steady_clock::time_point{};
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(nothrow);
      if (ec) {
        if (!acceptor.is_open() || stopping) co_return;
        const bool no_fds = ec == asio::error::no_descriptors || ec.value() == ENFILE ||
                            ec.value() == ENOBUFS || ec.value() == ENOMEM;
        if (!no_fds) {
          spdlog::warn("accept failed: {}", ec.message());
          continue;
        }
        accept_paused.add({});
        ++refused;
        if (auto now = std::chrono::steady_clock::now(); now - last_log >= kAcceptLogInterval) {
          spdlog::warn(
              "accept: {} ({} times since the last report); pausing accepts for {} ms "
              "each time (the descriptor limit is {})",
              ec.message(), refused, kAcceptPause.count(), max_fds());
          last_log = now;
          refused = 0;
        }
        pause.expires_after(kAcceptPause);
        co_await pause.async_wait(nothrow);
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      auto strand = asio::make_strand(ioc);
      asio::co_spawn(strand, session(std::move(sock)), asio::detached);
    }
  }

  void begin_stop() {
    if (stopping.exchange(true)) return;
    spdlog::info("shutting down: no new connections, waiting up to {} ms for {} requests",
                 cfg.shutdown_grace.count(), active.load());
    boost::system::error_code ec;
    acceptor.close(ec);
    signals.cancel(ec);
    if (on_stop) on_stop();
    auto deadline = std::chrono::steady_clock::now() + cfg.shutdown_grace;
    asio::co_spawn(
        ioc,
        [this, deadline]() -> asio::awaitable<void> {
          asio::steady_timer t(ioc);
          while (active > 0 && std::chrono::steady_clock::now() < deadline) {
            t.expires_after(std::chrono::milliseconds(50));
            co_await t.async_wait(nothrow);
          }
          ioc.stop();
        },
        asio::detached);
  }
};

Server::Server(const ServerConfig& cfg, Metrics& metrics)
    : impl_(std::make_unique<Impl>(cfg, metrics)) {}

Server::~Server() {
  impl_->ioc.stop();
  impl_->local_workers.join();
  impl_->api_workers.join();
  impl_->workers.join();
}

void Server::set_guard(Guard guard) {
  impl_->guard = std::move(guard);
}

void Server::route(std::string prefix, std::string group, Access access, Runs runs, Handler handler,
                   std::optional<std::size_t> max_body) {
  // A plain handler always answers; a Runs::local one never waits on an upstream by contract.
  TieredHandler tiered = [h = std::move(handler)](const Request& req,
                                                  Reach) -> std::optional<Response> {
    return h(req);
  };
  impl_->routes.push_back({std::move(prefix), std::move(group), access, runs, std::move(tiered),
                           max_body.value_or(impl_->cfg.max_body_bytes)});
}

void Server::route(std::string prefix, std::string group, Access access, TieredHandler handler,
                   std::optional<std::size_t> max_body) {
  impl_->routes.push_back({std::move(prefix), std::move(group), access, Runs::local,
                           std::move(handler), max_body.value_or(impl_->cfg.max_body_bytes)});
}

void Server::set_error_responder(std::function<Response(int, std::string)> fn) {
  impl_->error_responder = std::move(fn);
}

unsigned short Server::listen(const ListenAddress& addr) {
  boost::system::error_code ec;
  if (!impl_->cfg.tls_cert_file.empty()) {
    auto& ctx = impl_->tls.emplace(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    ctx.use_certificate_chain_file(impl_->cfg.tls_cert_file, ec);
    if (ec)
      throw std::runtime_error("server.tls_cert_file " + impl_->cfg.tls_cert_file + ": " +
                               ec.message());
    ctx.use_private_key_file(impl_->cfg.tls_key_file, asio::ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error("server.tls_key_file " + impl_->cfg.tls_key_file + ": " +
                               ec.message());
  }
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(addr.host, std::to_string(addr.port), ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve listen address " + addr.host + ": " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + addr.host + ":" + std::to_string(addr.port) +
                             ": " + ec.message());
  return a.local_endpoint().port();
}

void Server::run(std::function<void()> on_stop) {
  auto& im = *impl_;
  im.on_stop = std::move(on_stop);
  im.signals.async_wait([&im](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("received signal {}", sig);
      im.begin_stop();
    }
  });
  asio::co_spawn(im.ioc, im.accept_loop(), asio::detached);
  unsigned n = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::jthread> threads;
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([&im] { im.ioc.run(); });
  im.ioc.run();
  threads.clear();
  im.local_workers.join();
  im.api_workers.join();
  im.workers.join();
}

void Server::stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

}  // namespace outpost::http
