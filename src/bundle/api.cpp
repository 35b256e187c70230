#include "bundle/api.hpp"

#include <nlohmann/json.hpp>

#include "http/status.hpp"

namespace outpost::bundle {
namespace {

http::Response error(int status, const std::string& msg) {
  return http::Response::json(status,
                              nlohmann::json({{"error", msg}})
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

http::Response handle_releases(ReleaseJobs& jobs, const http::Request& req) {
  std::string_view rest = req.path;
  rest.remove_prefix(std::string_view("/api/v1/releases").size());
  if (rest.empty() || rest == "/") {
    if (req.method == "GET") {
      auto arr = nlohmann::json::array();
      for (const auto& s : jobs.list()) arr.push_back(nlohmann::json::parse(s.to_json()));
      return http::Response::json(
          200, nlohmann::json({{"releases", arr}})
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (req.method != "POST") return error(405, "use GET or POST");
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("source") || !j.contains("name") ||
        !j.contains("version") || !j["source"].is_string() || !j["name"].is_string() ||
        !j["version"].is_string())
      return error(400, "body must be {\"source\": …, \"name\": …, \"version\": …}");
    auto st = jobs.start(j["name"], j["version"], j["source"]);
    if (!st) return error(http::status_for(st.error().code), st.error().message);
    return http::Response::json(st->state == ReleaseState::ready ? 200 : 202, st->to_json());
  }
  if (req.method != "GET") return error(405, "use GET");
  rest.remove_prefix(1);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos)
    return error(404, "expected /api/v1/releases/<name>/<version>");
  auto st = jobs.status(std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1)));
  if (st.state == ReleaseState::unknown) return error(404, "no such release");
  return http::Response::json(200, st.to_json());
}

}  // namespace outpost::bundle
