#include "sources/handlers.hpp"

#include <nlohmann/json.hpp>

namespace outpost::sources {

http::Response handle_sources(OciSources& sources, const http::Request& req) {
  const bool check = req.path == "/api/v1/sources/check";
  if (!check && req.path != "/api/v1/sources" && req.path != "/api/v1/sources/")
    return http::Response::text(404, "no such API\n");
  if (!check) {
    if (req.method != "GET") return http::Response::text(405, "use GET\n");
    return http::Response::json(200, sources.status().dump());
  }
  if (req.method != "POST") return http::Response::text(405, "use POST\n");
  std::string repo(req.query_param("repository").value_or(""));
  if (auto ok = sources.check_soon(repo); !ok)
    return http::Response::text(404, ok.error().message + "\n");
  return http::Response::json(202,
                              nlohmann::json{{"checking", repo.empty() ? "all" : repo}}.dump());
}

}  // namespace outpost::sources
