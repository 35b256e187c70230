// HTTP Range headers against blobs of any size.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "http/range.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t blob = 0;
  std::memcpy(&blob, data, 8);
  blob %= (1ull << 40);
  std::string_view header(reinterpret_cast<const char*>(data) + 8, size - 8);
  auto r = outpost::http::parse_range(header, blob);
  (void)r;
  return 0;
}
