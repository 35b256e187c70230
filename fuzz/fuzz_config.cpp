// The YAML config: any text either parses into a Config or throws ConfigError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)outpost::parse_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const outpost::ConfigError&) {
  }
  return 0;
}
