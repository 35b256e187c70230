#include "bundle/images.hpp"

#include "core/text.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace outpost::bundle {
namespace {

// The pod spec inside a workload object, or an undefined node.
YAML::Node pod_spec(const YAML::Node& obj) {
  if (!obj.IsMap() || !obj["kind"] || !obj["kind"].IsScalar()) return YAML::Node();
  auto kind = obj["kind"].as<std::string>();
  auto spec = obj["spec"];
  if (!spec || !spec.IsMap()) return YAML::Node();
  if (kind == "Pod") return spec;
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
      kind == "ReplicaSet" || kind == "Job" || kind == "ReplicationController") {
    auto t = spec["template"];
    return t && t.IsMap() ? t["spec"] : YAML::Node();
  }
  if (kind == "CronJob") {
    auto jt = spec["jobTemplate"];
    if (!jt || !jt.IsMap() || !jt["spec"] || !jt["spec"].IsMap()) return YAML::Node();
    auto t = jt["spec"]["template"];
    return t && t.IsMap() ? t["spec"] : YAML::Node();
  }
  return YAML::Node();
}

}  // namespace

Result<void> ImageCollector::add_yaml(const std::string& text, const std::string& origin) {
  if (auto why = untrusted_yaml_problem(text))
    return fail(Errc::invalid_argument, fmt::format("{}: {}", origin, *why));
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::invalid_argument, fmt::format("{}:{}:{}: invalid YAML: {}", origin,
                                                    e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  std::vector<YAML::Node> objects;
  for (auto& d : docs) {
    if (!d.IsMap()) continue;
    if (d["kind"] && d["kind"].IsScalar() && d["kind"].as<std::string>().ends_with("List") &&
        d["items"] && d["items"].IsSequence()) {
      for (auto item : d["items"]) objects.push_back(item);
    } else {
      objects.push_back(d);
    }
  }
  for (const auto& obj : objects) {
    if (obj["kind"] && obj["kind"].IsScalar() && obj["kind"].as<std::string>() == "Application" &&
        obj["apiVersion"] && obj["apiVersion"].IsScalar() &&
        obj["apiVersion"].as<std::string>().starts_with("argoproj.io/")) {
      if (auto r = add_application(obj, origin); !r) return r;
      continue;
    }
    auto spec = pod_spec(obj);
    if (!spec || !spec.IsMap()) continue;
    for (const char* field : {"initContainers", "containers", "ephemeralContainers"}) {
      auto list = spec[field];
      if (!list || !list.IsSequence()) continue;
      for (auto c : list) {
        if (!c.IsMap() || !c["image"] || !c["image"].IsScalar()) continue;
        auto image = c["image"].as<std::string>();
        auto where = fmt::format("{}:{}", origin, c["image"].Mark().line + 1);
        auto ref = registry::parse_image_ref(image);
        if (!ref) return fail(Errc::invalid_argument, where + ": " + ref.error().message);
        if (seen_.insert(ref->str()).second) found_.push_back({*ref, where});
      }
    }
  }
  return {};
}

Result<void> ImageCollector::add_application(const YAML::Node& app, const std::string& origin) {
  auto spec = app["spec"];
  if (!spec || !spec.IsMap()) return {};
  std::vector<YAML::Node> sources;
  if (spec["source"] && spec["source"].IsMap()) sources.push_back(spec["source"]);
  if (spec["sources"] && spec["sources"].IsSequence())
    for (auto s : spec["sources"]) sources.push_back(s);
  for (const auto& s : sources) {
    if (!s.IsMap() || !s["chart"] || !s["repoURL"] || !s["chart"].IsScalar() ||
        !s["repoURL"].IsScalar())
      continue;
    auto chart = s["chart"].as<std::string>();
    auto repo = s["repoURL"].as<std::string>();
    auto version = s["targetRevision"] && s["targetRevision"].IsScalar()
                       ? s["targetRevision"].as<std::string>()
                       : std::string();
    auto where = fmt::format("{}:{}", origin, s["chart"].Mark().line + 1);
    if (version.empty() || version == "HEAD" ||
        version.find_first_of("*^~<>=| ") != std::string::npos)
      return fail(
          Errc::invalid_argument,
          fmt::format("{}: chart {} needs an exact targetRevision to be bundled", where, chart));
    if (repo.starts_with("oci://") || repo.find("://") == std::string::npos) {
      if (repo.starts_with("oci://")) repo = repo.substr(6);
      auto ref = registry::parse_image_ref(repo + "/" + chart + ":" + version);
      if (!ref) return fail(Errc::invalid_argument, where + ": " + ref.error().message);
      if (seen_.insert(ref->str()).second) found_.push_back({*ref, where});
      continue;
    }
    if (seen_.insert(repo + " " + chart + " " + version).second)
      charts_.push_back({repo, chart, version, where});
  }
  return {};
}

Result<void> ImageCollector::add_path(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      auto ext = it->path().extension();
      if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json"))
        files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    return fail(Errc::not_found, fmt::format("{}: no such file or directory", path.string()));
  }
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) return fail(Errc::io, fmt::format("{}: cannot read", f.string()));
    std::stringstream ss;
    ss << in.rdbuf();
    if (auto r = add_yaml(ss.str(), f.string()); !r) return r;
  }
  return {};
}

std::vector<ImageUse> ImageCollector::images() const {
  auto out = found_;
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.ref.str() < b.ref.str(); });
  return out;
}

}  // namespace outpost::bundle
