#pragma once
// The nodes section of the config (nodes.*): when a registered node that stopped pulling through
// Outpost is flagged, and how many client addresses are remembered.
#include <cstddef>
#include "core/config_section.hpp"
#include "core/duration.hpp"

namespace outpost {

struct NodesConfig {
  // A registered node with no pull and no canary through Outpost for this long is flagged (a node
  // that pulls straight from the internet looks healthy until the link drops).
  Millis stale_after = std::chrono::hours(24);
  // Client addresses remembered (the oldest is forgotten first), so hostile clients cannot grow it.
  std::size_t max_addresses = 10000;
};

namespace config {
// The `nodes` section's key table (the one place its keys are listed).
const KeyTable<NodesConfig>& nodes_keys();
}  // namespace config

}  // namespace outpost
