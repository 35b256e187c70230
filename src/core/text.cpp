#include "core/text.hpp"

#include <yaml.h>

#include <string>

namespace outpost {

namespace {

// Decodes the code points of well-formed UTF-8, calling `ok(cp)` for each; false on bad bytes or
// when `ok` says no.
template <class Fn>
bool each_code_point(std::string_view s, Fn ok) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      if (!ok(c)) return false;
      ++p;
      continue;
    }
    int n = 0;
    unsigned min = 0, cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (!ok(cp)) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  return each_code_point(s, [](unsigned) { return true; });
}

bool yaml_syntax_ok(std::string_view s, std::string* error) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return false;
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  bool ok = true;
  for (;;) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) {
      ok = false;
      if (error)
        *error = std::string(parser.problem ? parser.problem : "syntax error") + " at line " +
                 std::to_string(parser.problem_mark.line + 1);
      break;
    }
    bool end = event.type == YAML_STREAM_END_EVENT;
    // Explicit tags: nothing Outpost reads uses them, and yaml-cpp 0.7 spins while scanning some
    // (found by fuzz_k8s_images).
    const unsigned char* tag =
        event.type == YAML_SCALAR_EVENT           ? event.data.scalar.tag
        : event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.tag
        : event.type == YAML_MAPPING_START_EVENT  ? event.data.mapping_start.tag
                                                  : nullptr;
    if (tag) {
      ok = false;
      if (error)
        *error =
            "YAML tags are not supported, at line " + std::to_string(event.start_mark.line + 1);
    }
    yaml_event_delete(&event);
    if (!ok) break;
    if (end) break;
  }
  yaml_parser_delete(&parser);
  return ok;
}

std::optional<std::string> untrusted_yaml_problem(std::string_view s) {
  if (!valid_yaml_text(s)) return "not UTF-8 text of printable characters";
  if (std::string why; !yaml_syntax_ok(s, &why)) return "invalid YAML: " + why;
  return std::nullopt;
}

bool valid_yaml_text(std::string_view s) {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  // Never valid YAML, and yaml-cpp 0.7 loops forever on ",<plain scalar>" at the start of the
  // stream (found by fuzz_k8s_images).
  if (s.starts_with(',')) return false;
  return each_code_point(s, [](unsigned c) {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
           (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || c >= 0x10000;
  });
}

}  // namespace outpost
