#pragma once
// Checks on text from outside before it reaches a parser. YAML is UTF-8 (or UTF-16/32 with a BOM,
// which nothing here sends); yaml-cpp can spin for a very long time on some invalid byte
// sequences (found by fuzz_k8s_images), so text that is not well-formed UTF-8 is refused first.
#include <string_view>

namespace outpost {

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);

}  // namespace outpost
