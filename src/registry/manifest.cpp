#include "registry/manifest.hpp"

#include <nlohmann/json.hpp>

namespace outpost::registry {

const char* const kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.v1+prettyjws, application/json";

bool is_index_media_type(std::string_view t) {
  return t.starts_with("application/vnd.oci.image.index.v1+json") ||
         t.starts_with("application/vnd.docker.distribution.manifest.list.v2+json");
}

Result<ManifestInfo> parse_manifest(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::invalid_argument, "manifest is not a JSON object");
  ManifestInfo info;
  if (auto it = j.find("mediaType"); it != j.end() && it->is_string()) info.media_type = *it;
  auto collect = [&](const nlohmann::json& arr, std::vector<Digest>& out) -> Result<void> {
    if (!arr.is_array()) return fail(Errc::invalid_argument, "manifest list field is not an array");
    for (const auto& e : arr) {
      if (!e.is_object() || !e.contains("digest") || !e["digest"].is_string())
        return fail(Errc::invalid_argument, "manifest descriptor without a digest");
      auto d = Digest::parse(e["digest"].get<std::string>());
      if (!d) return fail(Errc::invalid_argument, "manifest descriptor: " + d.error().message);
      out.push_back(*d);
    }
    return {};
  };
  if (auto it = j.find("manifests"); it != j.end()) {
    if (auto r = collect(*it, info.manifests); !r) return std::unexpected(r.error());
  }
  if (auto it = j.find("config"); it != j.end() && it->is_object()) {
    if (auto r = collect(nlohmann::json::array({*it}), info.blobs); !r)
      return std::unexpected(r.error());
  }
  if (auto it = j.find("layers"); it != j.end()) {
    if (auto r = collect(*it, info.blobs); !r) return std::unexpected(r.error());
  }
  return info;
}

}  // namespace outpost::registry
