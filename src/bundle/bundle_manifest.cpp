#include "bundle/bundle_manifest.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "helm/repo.hpp"
#include "registry/reference.hpp"

namespace outpost::bundle {

bool valid_release_part(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::string BundleManifest::to_json() const {
  nlohmann::json j;
  j["schemaVersion"] = 1;
  j["name"] = name;
  j["version"] = version;
  j["createdAt"] = created_at;
  if (!source_repo.empty()) j["source"] = {{"repo", source_repo}, {"commit", source_commit}};
  j["base"] = base_version ? nlohmann::json({{"name", name}, {"version", *base_version}})
                           : nlohmann::json(nullptr);
  auto& imgs = j["images"] = nlohmann::json::array();
  for (const auto& i : images) {
    nlohmann::json img = {{"ref", i.ref},
                          {"registry", i.registry},
                          {"repo", i.repo},
                          {"tag", i.tag},
                          {"digest", i.digest.str()},
                          {"mediaType", i.media_type},
                          {"platforms", i.platforms}};
    if (!i.referrers.empty()) {
      auto& rs = img["referrers"] = nlohmann::json::array();
      for (const auto& r : i.referrers) {
        nlohmann::json d = {{"subject", r.subject.str()},
                            {"digest", r.digest.str()},
                            {"size", r.size},
                            {"mediaType", r.media_type},
                            {"artifactType", r.artifact_type}};
        if (!r.annotations_json.empty())
          d["annotations"] = nlohmann::json::parse(r.annotations_json, nullptr, false);
        rs.push_back(std::move(d));
      }
    }
    if (!i.referrer_tags.empty()) {
      auto& ts = img["referrerTags"] = nlohmann::json::array();
      for (const auto& t : i.referrer_tags)
        ts.push_back({{"tag", t.tag}, {"digest", t.digest.str()}});
    }
    imgs.push_back(std::move(img));
  }
  if (!charts.empty()) {
    auto& ch = j["charts"] = nlohmann::json::array();
    for (const auto& c : charts)
      ch.push_back({{"repo", c.repo},
                    {"name", c.name},
                    {"version", c.version},
                    {"digest", c.digest.str()},
                    {"entry", nlohmann::json::parse(c.entry_json, nullptr, false)}});
  }
  auto& bl = j["blobs"] = nlohmann::json::array();
  for (const auto& b : blobs)
    bl.push_back({{"digest", b.digest.str()},
                  {"size", b.size},
                  {"mediaType", b.media_type},
                  {"inBundle", b.in_bundle}});
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

using Json = nlohmann::json;

std::unexpected<Error> bad(std::string why) {
  return fail(Errc::invalid_argument, "outpost-bundle.json: " + why);
}

Result<void> parse_referrers(const Json& i, BundleImage& img) {
  for (const auto& r : i.value("referrers", Json::array())) {
    auto subject = Digest::parse(r.at("subject").get<std::string>());
    auto digest = Digest::parse(r.at("digest").get<std::string>());
    if (!subject || !digest) return bad("a referrer with a malformed digest");
    std::string annotations;
    if (r.contains("annotations")) {
      if (!r["annotations"].is_object()) return bad("referrer annotations must be an object");
      annotations = r["annotations"].dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    img.referrers.push_back({*subject, *digest, r.value("size", std::uint64_t{0}),
                             r.value("mediaType", ""), r.value("artifactType", ""),
                             std::move(annotations)});
  }
  for (const auto& t : i.value("referrerTags", Json::array())) {
    auto digest = Digest::parse(t.at("digest").get<std::string>());
    if (!digest) return bad("a referrer tag with a malformed digest");
    auto tag = t.at("tag").get<std::string>();
    // Only the scheme's names: never a tag that would shadow an image's own.
    if (!tag.starts_with("sha256-") || !registry::valid_tag(tag))
      return bad("invalid referrer tag '" + tag + "'");
    img.referrer_tags.push_back({std::move(tag), *digest});
  }
  return {};
}

Result<BundleImage> parse_image(const Json& i) {
  auto d = Digest::parse(i.at("digest").get<std::string>());
  if (!d) return bad(d.error().message);
  BundleImage img{i.at("ref").get<std::string>(),
                  i.at("registry").get<std::string>(),
                  i.at("repo").get<std::string>(),
                  i.value("tag", ""),
                  *d,
                  i.value("mediaType", ""),
                  i.value("platforms", std::vector<std::string>{}),
                  {},
                  {}};
  if (auto r = parse_referrers(i, img); !r) return std::unexpected(r.error());
  return img;
}

Result<BundleChart> parse_chart(const Json& c) {
  auto d = Digest::parse(c.at("digest").get<std::string>());
  if (!d) return bad(d.error().message);
  if (!c.contains("entry") || !c["entry"].is_object()) return bad("a chart without entry");
  return BundleChart{c.at("repo").get<std::string>(), c.at("name").get<std::string>(),
                     c.at("version").get<std::string>(), *d,
                     c["entry"].dump(-1, ' ', false, Json::error_handler_t::replace)};
}

// What is served offline (referrers, charts in indexes) must be among the bundle's blobs, and
// charts carry only plain names.
Result<void> check_listed(const BundleManifest& m) {
  auto listed = [&](const Digest& d) {
    return std::any_of(m.blobs.begin(), m.blobs.end(),
                       [&](const BundleBlob& b) { return b.digest == d; });
  };
  for (const auto& i : m.images) {
    for (const auto& r : i.referrers)
      if (!listed(r.digest) || (!listed(r.subject) && r.subject != i.digest))
        return bad("referrer " + r.digest.str() + " of " + i.ref + " is not among the blobs");
    for (const auto& t : i.referrer_tags)
      if (!listed(t.digest))
        return bad("referrer tag " + t.tag + " of " + i.ref + " is not among the blobs");
  }
  for (const auto& c : m.charts) {
    if (!helm::valid_chart_name(c.name) || !helm::valid_chart_version(c.version) ||
        !helm::valid_repo_key(c.repo))
      return bad(fmt::format("invalid chart reference {}/{}:{}", c.repo, c.name, c.version));
    if (!listed(c.digest))
      return bad("chart " + c.name + " " + c.version + " is not among the blobs");
  }
  return {};
}

Result<BundleManifest> parse_object(const Json& j) {
  if (j.value("schemaVersion", 0) != 1) return bad("unsupported schemaVersion");
  BundleManifest m;
  m.name = j.at("name").get<std::string>();
  m.version = j.at("version").get<std::string>();
  if (!valid_release_part(m.name) || !valid_release_part(m.version))
    return bad("invalid name or version");
  m.created_at = j.value("createdAt", "");
  if (j.contains("source") && j["source"].is_object()) {
    m.source_repo = j["source"].value("repo", "");
    m.source_commit = j["source"].value("commit", "");
  }
  if (j.contains("base") && j["base"].is_object()) {
    m.base_version = j["base"].at("version").get<std::string>();
    if (!valid_release_part(*m.base_version)) return bad("invalid base version");
  }
  for (const auto& i : j.at("images")) {
    auto img = parse_image(i);
    if (!img) return std::unexpected(img.error());
    m.images.push_back(std::move(*img));
  }
  if (j.contains("charts"))
    for (const auto& c : j.at("charts")) {
      auto chart = parse_chart(c);
      if (!chart) return std::unexpected(chart.error());
      m.charts.push_back(std::move(*chart));
    }
  for (const auto& b : j.at("blobs")) {
    auto d = Digest::parse(b.at("digest").get<std::string>());
    if (!d) return bad(d.error().message);
    m.blobs.push_back({*d, b.at("size").get<std::uint64_t>(), b.value("mediaType", ""),
                       b.at("inBundle").get<bool>()});
  }
  if (auto ok = check_listed(m); !ok) return std::unexpected(ok.error());
  return m;
}

}  // namespace

Result<BundleManifest> BundleManifest::parse(std::string_view text) {
  auto j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  try {
    return parse_object(j);
  } catch (const Json::exception& e) {
    return bad(e.what());
  }
}

}  // namespace outpost::bundle
