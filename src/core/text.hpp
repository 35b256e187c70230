#pragma once
// Checks on text from outside before it reaches a parser. YAML is UTF-8 (or UTF-16/32 with a BOM,
// which nothing here sends); yaml-cpp can spin for a very long time on some invalid byte
// sequences (found by fuzz_k8s_images), so text that is not well-formed UTF-8 is refused first.
#include <optional>
#include <string>
#include <string_view>

namespace outpost {

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);
// Text a YAML document may hold: well-formed UTF-8 of YAML's printable characters only (tab, LF,
// CR, U+0020–U+007E, U+0085, U+00A0–U+D7FF, U+E000–U+FFFD, U+10000 up; a leading BOM allowed).
// yaml-cpp can also spin on control characters, and on a stream starting with ',' (found by
// fuzz_k8s_images): both are refused.
bool valid_yaml_text(std::string_view s);
// True when libyaml (the reference C parser, fuzzed upstream) parses `s` as a YAML stream without
// a syntax error and without explicit tags (`!tag`). Run before yaml-cpp, which loops forever on
// some malformed input and some tags (found by fuzz_k8s_images). REQUIRES: valid_yaml_text(s).
bool yaml_syntax_ok(std::string_view s, std::string* error = nullptr);
// Both checks, for every parser of YAML from outside: why `s` must not reach yaml-cpp, or nothing.
std::optional<std::string> untrusted_yaml_problem(std::string_view s);

}  // namespace outpost
