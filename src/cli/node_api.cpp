#include "cli/node_api.hpp"

#include <fmt/format.h>

namespace outpost::cli {

Result<http::ClientResponse> call_api(const std::string& server, const TokenOption& token,
                                      const std::string& method, const std::string& path,
                                      std::string body) {
  http::CurlHttpClient client;
  http::ClientRequest req;
  req.method = method;
  req.url = server + path;
  req.headers = token.headers();
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::move(body);
  req.total_timeout = std::chrono::seconds(30);
  req.max_body = 16u << 20;
  req.body_name = "API answer";
  return client.perform(req, nullptr);
}

Result<void> register_node(const std::string& server, const TokenOption& token,
                           const nlohmann::json& report) {
  auto r = call_api(server, token, "POST", "/api/v1/nodes", report.dump());
  if (!r) return std::unexpected(r.error());
  if (r->status != 200)
    return fail(Errc::upstream_error, fmt::format("HTTP {} {}", r->status, r->body));
  return {};
}

}  // namespace outpost::cli
