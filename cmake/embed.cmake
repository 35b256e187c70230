# Embeds a file in the binary as a std::string_view.
#   cmake -DIN=<file> -DOUT=<file.cpp> -DNAME=<symbol in outpost::ui> -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} by cmake/embed.cmake. Do not edit.\n"
  "#include <string_view>\n"
  "namespace outpost::ui {\n"
  "namespace { const unsigned char k_data[] = {${bytes}}; }\n"
  "extern const std::string_view ${NAME};\n"
  "const std::string_view ${NAME}(reinterpret_cast<const char*>(k_data), sizeof(k_data));\n"
  "}  // namespace outpost::ui\n")
file(RENAME "${OUT}.tmp" "${OUT}")
