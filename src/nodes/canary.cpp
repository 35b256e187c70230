#include "nodes/canary.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <vector>

namespace outpost::nodes {
namespace {

using nlohmann::json;
constexpr std::string_view kIndexType = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kManifestType = "application/vnd.oci.image.manifest.v1+json";

struct Platform {
  const char* arch;
  const char* variant;  // "" for none
};
constexpr Platform kPlatforms[] = {{"amd64", ""},   {"arm64", ""}, {"arm", "v7"},
                                   {"ppc64le", ""}, {"s390x", ""}, {"riscv64", ""}};

json descriptor(std::string_view media_type, const std::string& bytes) {
  return {{"mediaType", media_type}, {"digest", sha256_of(bytes).str()}, {"size", bytes.size()}};
}

// Every document and blob of the canary, made once.
struct Image {
  std::map<Digest, CanaryDocument> manifests;
  std::map<Digest, std::string> blobs;
  std::optional<CanaryDocument> index;  // set by the constructor

  Image() {
    const std::string layer(1024, '\0');  // an empty tar: two zero blocks
    blobs.emplace(sha256_of(layer), layer);
    json index_doc = {
        {"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", json::array()}};
    for (const auto& p : kPlatforms) {
      json cfg = {{"architecture", p.arch},
                  {"os", "linux"},
                  {"config", json::object()},
                  {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_of(layer).str()}}}}};
      if (*p.variant) cfg["variant"] = p.variant;
      const std::string config = cfg.dump();
      blobs.emplace(sha256_of(config), config);
      json m = {{"schemaVersion", 2},
                {"mediaType", kManifestType},
                {"config", descriptor("application/vnd.oci.image.config.v1+json", config)},
                {"layers", {descriptor("application/vnd.oci.image.layer.v1.tar", layer)}},
                {"annotations", {{"org.opencontainers.image.title", "outpost canary"}}}};
      const std::string bytes = m.dump();
      json d = descriptor(kManifestType, bytes);
      d["platform"] = {{"architecture", p.arch}, {"os", "linux"}};
      if (*p.variant) d["platform"]["variant"] = p.variant;
      index_doc["manifests"].push_back(d);
      manifests.emplace(sha256_of(bytes),
                        CanaryDocument{std::string(kManifestType), bytes, sha256_of(bytes)});
    }
    const std::string bytes = index_doc.dump();
    index = CanaryDocument{std::string(kIndexType), bytes, sha256_of(bytes)};
    manifests.emplace(index->digest, *index);
  }
};

const Image& image() {
  static const Image i;
  return i;
}

}  // namespace

std::optional<CanaryDocument> canary_manifest(std::string_view tag_or_digest) {
  auto d = Digest::parse(tag_or_digest);
  if (!d) return *image().index;  // any tag
  auto it = image().manifests.find(*d);
  if (it == image().manifests.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> canary_blob(const Digest& digest) {
  auto it = image().blobs.find(digest);
  if (it == image().blobs.end()) return std::nullopt;
  return it->second;
}

}  // namespace outpost::nodes
