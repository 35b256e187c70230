#include "bundle/api.hpp"

#include <nlohmann/json.hpp>

#include "bundle/fanout.hpp"
#include "cluster/cluster.hpp"
#include "http/status.hpp"

namespace outpost::bundle {
namespace {

http::Response error(int status, const std::string& msg) {
  return http::Response::json(status,
                              nlohmann::json({{"error", msg}})
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// One release's status; in a cluster, for a client, with every replica's: "replicas" (this one
// first), "replicas_ready" and "replicas_live" (those that answered).
http::Response release_status(ReleaseJobs& jobs, ReleaseFanout* fanout, bool from_peer,
                              const std::string& name, const std::string& version) {
  auto st = jobs.status(name, version);
  if (!fanout || !fanout->enabled() || from_peer) {
    if (st.state == ReleaseState::unknown) return error(404, "no such release");
    return http::Response::json(200, st.to_json());
  }
  auto j = nlohmann::json::parse(st.to_json());
  j["replicas"] = fanout->replicas(name, version, st);
  std::size_t ready = 0, live = 0, known = 0;
  for (const auto& r : j["replicas"]) {
    auto state = r.value("state", "");
    if (state != "unreachable") ++live;
    if (state != "unreachable" && state != "unknown") ++known;
    if (state == "ready") ++ready;
  }
  if (known == 0) return error(404, "no such release on any replica");
  j["replicas_ready"] = ready;
  j["replicas_live"] = live;
  return http::Response::json(200,
                              j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

http::Response handle_releases(ReleaseJobs& jobs, ReleaseFanout* fanout, const http::Request& req) {
  const bool from_peer = req.headers.get(cluster::kPeerHeader).has_value();
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
    if (fanout && !from_peer) fanout->after_start(j["name"], j["version"]);
    return http::Response::json(st->state == ReleaseState::ready ? 200 : 202, st->to_json());
  }
  if (req.method != "GET") return error(405, "use GET");
  rest.remove_prefix(1);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos)
    return error(404, "expected /api/v1/releases/<name>/<version>");
  return release_status(jobs, fanout, from_peer, std::string(rest.substr(0, slash)),
                        std::string(rest.substr(slash + 1)));
}

}  // namespace outpost::bundle
