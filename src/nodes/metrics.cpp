#include "nodes/metrics.hpp"

#include "nodes/metric_defs.hpp"

namespace outpost::nodes {

void register_metrics(Metrics& metrics, const NodeBook& book) {
  auto& pull = metrics.gauge(metric::node_last_pull_timestamp_seconds);
  auto& canary = metrics.gauge(metric::node_last_canary_timestamp_seconds);
  auto& flagged = metrics.gauge(metric::nodes_flagged);
  metrics.add_collector([&] {
    auto secs = [](SystemTime t) {
      return static_cast<double>(
          std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
    };
    double n = 0;
    for (const auto& v : book.list()) {
      if (v.last_pull) pull.set({{"node", v.name}}, secs(*v.last_pull));
      if (v.registered && v.last_canary) canary.set({{"node", v.name}}, secs(*v.last_canary));
      n += v.flagged;
    }
    flagged.set({}, n);
  });
}

}  // namespace outpost::nodes
