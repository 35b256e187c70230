// Manifest / index JSON from upstream registries, and outpost-bundle.json from bundles.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bundle/bundle_manifest.hpp"
#include "registry/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)outpost::registry::parse_manifest(text);
  if (auto m = outpost::bundle::BundleManifest::parse(text)) {
    auto again = outpost::bundle::BundleManifest::parse(m->to_json());
    if (!again || again->to_json() != m->to_json()) __builtin_trap();
  }
  return 0;
}
