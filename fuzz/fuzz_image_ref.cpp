// Image references from Kubernetes YAML, bundle sources and the CLI.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registry/image_ref.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto r = outpost::registry::parse_image_ref(text)) {
    auto again = outpost::registry::parse_image_ref(r->str());  // normal form is a fixed point
    if (!again || again->str() != r->str()) __builtin_trap();
  }
  return 0;
}
