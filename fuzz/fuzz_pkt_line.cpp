// Upload-pack request bodies (pkt-lines) from git clients.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "git/pkt_line.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)outpost::git::validate_pkt_lines(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
