#include "bundle/referrers.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace outpost::bundle {

std::vector<std::string> referrer_tag_names(const Digest& subject) {
  const std::string base = "sha256-" + std::string(subject.hex());
  return {base, base + ".sig", base + ".att", base + ".sbom"};
}

std::optional<BundleReferrer> as_referrer(std::string_view bytes, const Digest& digest,
                                          const std::string& media_type, const Digest& subject) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("subject") || !j["subject"].is_object())
    return std::nullopt;
  if (j["subject"].value("digest", "") != subject.str()) return std::nullopt;
  std::string artifact_type = j.value("artifactType", "");
  if (artifact_type.empty() && j.contains("config") && j["config"].is_object())
    artifact_type = j["config"].value("mediaType", "");
  std::string annotations;
  if (j.contains("annotations") && j["annotations"].is_object())
    annotations = j["annotations"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  BundleReferrer r{subject,
                   digest,
                   bytes.size(),
                   media_type.empty() ? j.value("mediaType", "") : media_type,
                   std::move(artifact_type),
                   std::move(annotations)};
  return r;
}

std::string merge_referrers_index(std::string_view kept, const std::vector<BundleReferrer>& add) {
  auto index = nlohmann::json::parse(kept, nullptr, false);
  if (index.is_discarded() || !index.is_object() || !index.contains("manifests") ||
      !index["manifests"].is_array())
    index = {{"schemaVersion", 2},
             {"mediaType", "application/vnd.oci.image.index.v1+json"},
             {"manifests", nlohmann::json::array()}};
  std::set<std::string> have;
  for (const auto& m : index["manifests"])
    if (m.is_object()) have.insert(m.value("digest", ""));
  for (const auto& r : add) {
    if (!have.insert(r.digest.str()).second) continue;
    nlohmann::json d = {{"mediaType", r.media_type}, {"digest", r.digest.str()}, {"size", r.size}};
    if (!r.artifact_type.empty()) d["artifactType"] = r.artifact_type;
    if (!r.annotations_json.empty())
      if (auto a = nlohmann::json::parse(r.annotations_json, nullptr, false); a.is_object())
        d["annotations"] = std::move(a);
    index["manifests"].push_back(std::move(d));
  }
  return index.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace outpost::bundle
