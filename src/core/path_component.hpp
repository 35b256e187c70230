#pragma once
// Names taken from client URLs that become file paths or argv entries (repository paths, chart
// repository paths): plain components only — letters, digits, '.', '_', '-', at most 100
// characters, not starting with '.' or '-', not ending in ".lock" — so a URL can neither leave its
// directory nor smuggle an option into a command line.
#include <string_view>

namespace outpost {

bool plain_path_component(std::string_view c);

// "a/b/c" where every component is plain and there are at most `max_depth` of them.
bool plain_relative_path(std::string_view path, int max_depth = 10);

}  // namespace outpost
