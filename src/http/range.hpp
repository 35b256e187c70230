#pragma once
// The HTTP Range header for single byte ranges (RFC 9110 §14.1.2).
#include <cstdint>
#include <optional>
#include <string_view>

namespace outpost::http {

struct ByteRange {
  std::uint64_t first;
  std::uint64_t length;
};

enum class RangeKind { none, satisfiable, unsatisfiable };
struct RangeResult {
  RangeKind kind = RangeKind::none;  // none: absent, malformed or multi-range -> serve it all
  ByteRange range{0, 0};
};

// Resolves "bytes=a-b", "bytes=a-", "bytes=-n" against a body of `size` bytes.
RangeResult parse_range(std::optional<std::string_view> header, std::uint64_t size);

// A Content-Range answer: "bytes 100-199/1000" -> {100, 1000}; "bytes 100-199/*" -> {100, none}.
struct ContentRange {
  std::uint64_t first;
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view header);

}  // namespace outpost::http
