#include "nodes/handlers.hpp"

#include <nlohmann/json.hpp>

namespace outpost::nodes {
namespace {

using nlohmann::json;

json when(const std::optional<SystemTime>& t) {
  return t ? json(iso8601(*t)) : json(nullptr);
}

}  // namespace

nlohmann::json node_json(const NodeView& v) {
  return {{"name", v.name},
          {"registered", v.registered},
          {"addresses", v.addresses},
          {"registered_at", when(v.registered_at)},
          {"last_pull", when(v.last_pull)},
          {"last_canary", when(v.last_canary)},
          {"runtime", v.runtime},
          {"runtime_version", v.runtime_version},
          {"reported_by", v.reported_by},
          {"canary_tag", v.canary_tag},
          {"canary_upstreams", v.canary_upstreams},
          {"bypassing", v.bypassing},
          {"flagged", v.flagged},
          {"why", v.why}};
}

namespace {

http::Response error(int status, const std::string& message) {
  return http::Response::json(status, json{{"error", message}}.dump());
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& e : j[key])
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

http::Response register_node(NodeBook& book, const http::Request& req) {
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error(400, "the body must be a JSON object");
  auto str = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  NodeReport r{str("name"),        str("runtime"),    str("runtime_version"),
               str("reported_by"), str("canary_tag"), strings(j, "bypassing")};
  const auto name = r.name;
  if (auto ok = book.report(req.remote, std::move(r)); !ok) return error(400, ok.error().message);
  return http::Response::json(200, json{{"node", node_json(*book.find(name))}}.dump());
}

}  // namespace

http::Response handle_nodes(NodeBook& book, const NodesConfig& cfg, const http::Request& req) {
  constexpr std::string_view base = "/api/v1/nodes";
  std::string_view rest = std::string_view(req.path).substr(base.size());
  if (req.method == "POST" && (rest.empty() || rest == "/")) return register_node(book, req);
  if (req.method != "GET" && req.method != "HEAD") return error(405, "GET or POST");
  if (rest.size() > 1) {
    auto v = book.find(rest.substr(1));
    if (!v) return error(404, "no node registered with that name");
    return http::Response::json(200, node_json(*v).dump());
  }
  json nodes = json::array();
  int registered = 0, flagged = 0;
  for (const auto& v : book.list()) {
    registered += v.registered;
    flagged += v.flagged;
    nodes.push_back(node_json(v));
  }
  return http::Response::json(
      200, json{{"stale_after_seconds",
                 std::chrono::duration_cast<std::chrono::seconds>(cfg.stale_after).count()},
                {"registered", registered},
                {"flagged", flagged},
                {"nodes", nodes}}
               .dump());
}

}  // namespace outpost::nodes
