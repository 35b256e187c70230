#pragma once
// GET /api/v1/status (the whole picture), GET /api/v1/readiness (200 offline-ready, 503 with the
// reasons otherwise) and the status page at `/`.
#include "http/message.hpp"
#include "status/site_status.hpp"

namespace outpost::status {

http::Response handle_status(Sources& s, const http::Request& req);
http::Response handle_readiness(Sources& s, const http::Request& req);
http::Response handle_page(const http::Request& req);

}  // namespace outpost::status
