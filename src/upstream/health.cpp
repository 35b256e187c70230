#include "upstream/health.hpp"

namespace outpost::upstream {

UpstreamHealth upstream_health(std::string kind, std::string name,
                               std::vector<SourceHealth> sources) {
  UpstreamHealth h;
  h.kind = std::move(kind);
  h.name = std::move(name);
  if (sources.empty()) return h;
  const SourceHealth& origin = sources.back();
  h.url = origin.url;
  // The origin's state while it is up or when every source is down; else the first up source's.
  const SourceHealth* shown = &origin;
  if (!origin.state.up)
    for (const auto& s : sources)
      if (s.state.up) {
        shown = &s;
        break;
      }
  for (const auto& s : sources) h.contacted = h.contacted || s.contacted;
  h.state = shown->state;
  h.sources = std::move(sources);
  return h;
}

}  // namespace outpost::upstream
