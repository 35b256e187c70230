#pragma once
// The one HTTP server (Boost.Beast, C++20 coroutines) behind an Asio-free interface. Each
// connection is a coroutine on its own strand; every read and write has a timeout. Handlers run
// where their route says (Runs): inline on the I/O threads, on the local pool (disk and database
// only), or on the upstream pool (may wait on an upstream). A tiered handler is tried on the local
// pool first and moves to the upstream pool only when local state cannot answer, so no request
// that local state can answer ever waits for a thread held by an upstream wait. Bodies are sent
// with sendfile (files) or streamed as a producer makes them (fetches).
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/metrics.hpp"
#include "http/auth.hpp"
#include "http/config.hpp"
#include "http/message.hpp"

namespace outpost::http {

enum class Runs {
  inline_io,  // never blocks (health, the status page)
  local,      // blocks on disk or the database only
  api,        // reads the whole site (inventory, status): disk and database only, on a small pool
              // of its own (server.api_threads), so a burst of them never delays a pull
  upstream,   // may wait on an upstream (webhooks, release jobs)
};

class Server {
 public:
  Server(const ServerConfig& cfg, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Requests whose path starts with `prefix` go to `handler` (longest prefix wins). `group` labels
  // metrics and access logs ("registry", "health", …); `access` decides the auth group the guard
  // sees. This is the one route table: nothing else derives groups from paths.
  // `max_body`: request bodies larger than this are refused with 413 (default
  // server.max_body_bytes).
  void route(std::string prefix, std::string group, Access access, Runs runs, Handler handler,
             std::optional<std::size_t> max_body = std::nullopt);
  // A tiered route: tried with Reach::local on the local pool, then, if it returned nothing,
  // with Reach::upstream on the upstream pool.
  void route(std::string prefix, std::string group, Access access, TieredHandler handler,
             std::optional<std::size_t> max_body = std::nullopt);
  // Runs before every handler (on the handler's thread) with the auth group the route's Access
  // gives the request; a response refuses the request (authentication, authorization). It may
  // remove headers the request's credential does not entitle it to (peer headers).
  // REQUIRES: set before listen().
  using Guard = std::function<std::optional<Response>(Request&, AuthGroup group)>;
  void set_guard(Guard guard);
  // Builds the body for errors the server itself answers (bad framing, oversize headers).
  void set_error_responder(std::function<Response(int status, std::string message)> fn);

  // Binds the address (throws std::runtime_error on failure). Returns the bound port.
  unsigned short listen(const ListenAddress& addr);
  // Serves until SIGINT/SIGTERM or stop(). `on_stop` runs once when stopping begins (cancel
  // background work there); in-flight requests then get up to shutdown_grace to finish.
  void run(std::function<void()> on_stop);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace outpost::http
