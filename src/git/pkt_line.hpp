#pragma once
// Git pkt-line framing (gitprotocol-common): 4 hex digits of length (including themselves),
// then payload; 0000 flush, 0001 delimiter, 0002 response-end.
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace outpost::git {

std::string pkt_line(std::string_view payload);
inline constexpr std::string_view kFlush = "0000";

// One frame of a pkt-line stream; `payload` points into the parsed body.
struct Pkt {
  enum class Kind { data, flush, delim, response_end };
  Kind kind = Kind::data;
  std::string_view payload{};
};

// Splits `body` into its frames. Errc::invalid_argument, with the offset, at the first bad frame.
Result<std::vector<Pkt>> split_pkt_lines(std::string_view body);

// Checks that `body` is a non-empty sequence of well-formed pkt-lines (an upload-pack request),
// before any process sees it.
Result<void> validate_pkt_lines(std::string_view body);

}  // namespace outpost::git
