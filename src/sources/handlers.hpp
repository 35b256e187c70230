#pragma once
// /api/v1/sources: GET lists the followed OCI sources as the status shows them; POST
// /api/v1/sources/check[?repository=<registry>/<repo>] checks them (or one) now, ahead of their
// interval — what a registry's push webhook can call.
#include "http/message.hpp"
#include "sources/oci_sources.hpp"

namespace outpost::sources {

http::Response handle_sources(OciSources& sources, const http::Request& req);

}  // namespace outpost::sources
