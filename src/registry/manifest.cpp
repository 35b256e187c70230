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

bool Descriptor::matches_platform(std::string_view want) const {
  if (platform.empty()) return false;
  return want == platform || (!variant.empty() && want == platform + "/" + variant);
}

namespace {

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<Descriptor> descriptor(const nlohmann::json& e) {
  if (!e.is_object() || !e.contains("digest") || !e["digest"].is_string())
    return fail(Errc::invalid_argument, "manifest descriptor without a digest");
  auto d = Digest::parse(e["digest"].get<std::string>());
  if (!d) return fail(Errc::invalid_argument, "manifest descriptor: " + d.error().message);
  Descriptor out{*d, 0, {}, {}, {}};
  if (auto it = e.find("size"); it != e.end() && it->is_number_unsigned())
    out.size = it->get<std::uint64_t>();
  out.media_type = string_field(e, "mediaType");
  if (auto it = e.find("platform"); it != e.end() && it->is_object()) {
    auto os = string_field(*it, "os"), arch = string_field(*it, "architecture");
    if (!os.empty() && !arch.empty()) out.platform = os + "/" + arch;
    out.variant = string_field(*it, "variant");
  }
  return out;
}

Result<void> collect(const nlohmann::json& arr, std::vector<Descriptor>& out) {
  if (!arr.is_array()) return fail(Errc::invalid_argument, "manifest list field is not an array");
  for (const auto& e : arr) {
    auto d = descriptor(e);
    if (!d) return std::unexpected(d.error());
    out.push_back(std::move(*d));
  }
  return {};
}

}  // namespace

Result<ManifestInfo> parse_manifest(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::invalid_argument, "manifest is not a JSON object");
  ManifestInfo info;
  info.media_type = string_field(j, "mediaType");
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
