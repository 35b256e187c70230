#include "helm/index.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "core/text.hpp"
#include "helm/repo.hpp"
#include "upstream/origin.hpp"

namespace outpost::helm {
namespace {

using nlohmann::json;

// YAML → JSON keeping the core schema's types for plain scalars (helm reads the served JSON into
// typed fields: `deprecated: true` must stay a boolean).
json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& v : n) a.push_back(to_json(v));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() != "?") return s;  // quoted or explicitly tagged: a string
      static const std::regex integer(R"([-+]?[0-9]+)");
      static const std::regex floating(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
      if (std::regex_match(s, integer)) {
        try {
          return std::stoll(s);
        } catch (...) {
          return s;
        }
      }
      if (std::regex_match(s, floating)) return std::stod(s);
      return s;
    }
    default:
      return nullptr;
  }
}

std::optional<Digest> digest_of(const json& entry) {
  if (!entry.contains("digest") || !entry["digest"].is_string()) return std::nullopt;
  std::string d = entry["digest"];
  if (d.starts_with("sha256:")) d = d.substr(7);
  auto p = Digest::parse("sha256:" + d);
  if (!p) return std::nullopt;
  return *p;
}

}  // namespace

Result<ServedIndex> serve_index(std::string_view yaml, const std::string& index_url,
                                const std::vector<ChartEntry>& extra) {
  json doc = {{"apiVersion", "v1"}, {"entries", json::object()}};
  if (!yaml.empty()) {
    if (auto why = untrusted_yaml_problem(yaml))
      return fail(Errc::invalid_argument, "index.yaml: " + *why);
    try {
      doc = to_json(YAML::Load(std::string(yaml)));
    } catch (const YAML::Exception& e) {
      return fail(Errc::invalid_argument, fmt::format("index.yaml does not parse: {}", e.what()));
    }
    if (!doc.is_object() || !doc.contains("entries") || !doc["entries"].is_object())
      return fail(Errc::invalid_argument, "index.yaml has no `entries` map: not a Helm index");
  }
  ServedIndex out;
  json entries = json::object();
  for (auto& [key, versions] : doc["entries"].items()) {
    if (!versions.is_array()) continue;
    json kept = json::array();
    for (auto& e : versions) {
      if (!e.is_object()) continue;
      std::string name =
          e.contains("name") && e["name"].is_string() ? e["name"].get<std::string>() : key;
      std::string version =
          e.contains("version") && e["version"].is_string() ? e["version"].get<std::string>() : "";
      if (!valid_chart_name(name) || name != key || !valid_chart_version(version)) {
        out.skipped.push_back(fmt::format("{} {}: unservable name or version", key, version));
        continue;
      }
      if (!e.contains("urls") || !e["urls"].is_array() || e["urls"].empty() ||
          !e["urls"][0].is_string()) {
        out.skipped.push_back(fmt::format("{} {}: no urls", name, version));
        continue;
      }
      ChartEntry c;
      c.name = name;
      c.version = version;
      c.url = upstream::resolve_location(index_url, e["urls"][0].get<std::string>());
      c.digest = digest_of(e);
      c.entry_json = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      e["urls"] = json::array({chart_path(name, version)});
      out.charts.emplace(chart_path(name, version).substr(7), std::move(c));
      kept.push_back(std::move(e));
    }
    if (!kept.empty()) entries[key] = std::move(kept);
  }
  for (const auto& c : extra) {
    auto file = chart_path(c.name, c.version).substr(7);
    if (auto it = out.charts.find(file); it != out.charts.end()) {
      if (!it->second.digest) it->second.digest = c.digest;  // a release vouches for its bytes
      continue;
    }
    auto e = json::parse(c.entry_json, nullptr, false);
    if (!e.is_object()) continue;
    e["urls"] = json::array({chart_path(c.name, c.version)});
    if (c.digest) e["digest"] = std::string(c.digest->hex());
    entries[c.name].push_back(std::move(e));
    out.charts.emplace(file, c);
  }
  doc["entries"] = std::move(entries);
  if (!doc.contains("apiVersion")) doc["apiVersion"] = "v1";
  out.body = doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

Result<ChartEntry> find_chart(const ServedIndex& index, std::string_view name,
                              std::string_view version) {
  auto it = index.charts.find(chart_path(name, version).substr(7));
  if (it == index.charts.end())
    return fail(Errc::not_found, fmt::format("chart {} {} is not in the index", name, version));
  return it->second;
}

}  // namespace outpost::helm
