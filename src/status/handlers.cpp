#include "status/handlers.hpp"

#include "ui/status_page.hpp"

namespace outpost::status {
namespace {

http::Response only_get(const http::Request& req) {
  auto r = http::Response::json(405, R"({"error":"use GET"})");
  r.headers.set("Allow", "GET, HEAD");
  return r;
}

}  // namespace

http::Response handle_status(Sources& s, const http::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return only_get(req);
  auto r = http::Response::json(
      200, site_status(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.headers.set("Cache-Control", "no-store");
  r.omit_body = req.method == "HEAD";
  return r;
}

http::Response handle_readiness(Sources& s, const http::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return only_get(req);
  auto ready = readiness(site_status(s));
  auto r =
      http::Response::json(ready.value("ready", false) ? 200 : 503,
                           ready.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.headers.set("Cache-Control", "no-store");
  r.omit_body = req.method == "HEAD";
  return r;
}

http::Response handle_page(const http::Request& req) {
  if (req.path != "/" && req.path != "/index.html") return http::Response::text(404, "not found\n");
  if (req.method != "GET" && req.method != "HEAD") return only_get(req);
  auto r = http::Response::text(200, std::string(ui::kStatusHtml), "text/html; charset=utf-8");
  r.headers.set("Cache-Control", "no-cache");
  r.headers.set("Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "connect-src 'self'; img-src 'self' data:");
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.omit_body = req.method == "HEAD";
  return r;
}

}  // namespace outpost::status
