#pragma once
// Git pkt-line framing (gitprotocol-common): 4 hex digits of length (including themselves),
// then payload; 0000 flush, 0001 delimiter, 0002 response-end.
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outpost::git {

std::string pkt_line(std::string_view payload);
inline constexpr std::string_view kFlush = "0000";

// Checks that `body` is a sequence of well-formed pkt-lines (an upload-pack request), before any
// process sees it. Errc::invalid_argument with the offset of the first bad frame.
Result<void> validate_pkt_lines(std::string_view body);

}  // namespace outpost::git
