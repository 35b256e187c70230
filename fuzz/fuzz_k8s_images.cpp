// Kubernetes YAML (manifests, rendered Helm output, Argo CD Applications) for image discovery.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bundle/images.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  outpost::bundle::ImageCollector c;
  (void)c.add_yaml(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  (void)c.images();
  return 0;
}
