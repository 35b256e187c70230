#include "nodes/config.hpp"

namespace outpost::config {

const KeyTable<NodesConfig>& nodes_keys() {
  using N = NodesConfig;
  static const KeyTable<N> t{
      config::duration_key("stale_after", &N::stale_after),
      config::integer_key("max_addresses", &N::max_addresses, std::size_t{1}),
  };
  return t;
}

}  // namespace outpost::config
