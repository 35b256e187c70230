#pragma once
// What `outpost doctor` and `outpost node-config --register` say to a running Outpost about a
// node (nodes/handlers.hpp), and the one API call they make it with.
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "http/client.hpp"

namespace outpost::cli {

// One call to the API of the Outpost at `server` (30 s bound); `body`, when given, is JSON.
Result<http::ClientResponse> call_api(const std::string& server, const TokenOption& token,
                                      const std::string& method, const std::string& path,
                                      std::string body = {});
// POST /api/v1/nodes: registers or updates the node `report` names. The error says why not.
Result<void> register_node(const std::string& server, const TokenOption& token,
                           const nlohmann::json& report);

}  // namespace outpost::cli
