#pragma once
// /api/v1/nodes: the nodes that pull through Outpost (nodes/node_book.hpp).
// GET /api/v1/nodes: {stale_after_seconds, registered, flagged, nodes: [node…]}, registered nodes
// first. GET /api/v1/nodes/<name>: one registered node (404 when unknown). POST /api/v1/nodes
// (the registry group: a node registers with the credentials it pulls with): a NodeReport as JSON
// {name, runtime, runtime_version, reported_by, canary_tag, bypassing: [upstream…]}; the node's
// address is the request's. 200 {node}.
#include <nlohmann/json.hpp>

#include "http/message.hpp"
#include "nodes/node_book.hpp"

namespace outpost::nodes {

http::Response handle_nodes(NodeBook& book, const NodesConfig& cfg, const http::Request& req);

// A node as the API shows it (also the status page's and `outpost status`'s source).
nlohmann::json node_json(const NodeView& v);

}  // namespace outpost::nodes
