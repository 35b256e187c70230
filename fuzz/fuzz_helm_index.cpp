// Helm repository index.yaml from chart repositories: the served index never lists a chart URL
// outside Outpost.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "helm/index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto idx = outpost::helm::serve_index(text, "https://charts.example.com/stable/index.yaml", {});
  if (!idx) return 0;
  auto doc = nlohmann::json::parse(idx->body);
  for (auto& [name, versions] : doc["entries"].items())
    for (auto& e : versions)
      for (auto& u : e["urls"])
        if (!u.get<std::string>().starts_with("charts/")) __builtin_trap();
  return 0;
}
