#include "gate/gate.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "bundle/images.hpp"
#include "core/text.hpp"
#include "registry/manifest.hpp"

namespace outpost::gate {
namespace {

git::GateResult waiting(std::string why) {
  return {false, std::move(why)};
}

git::GateResult as_gate(const PulledImage& p) {
  return {p.ready, p.why};
}

git::GateResult images_gate(const git::GitMirror& gm, const std::filesystem::path& repo,
                            const std::string& commit, const GitGateConfig& gate,
                            registry::Mirror& mirror, const RegistryConfig& reg) {
  std::vector<std::string> args = {"ls-tree", "-r", "--name-only", commit, "--"};
  for (const auto& p : gate.paths) args.push_back(p);
  auto files = gm.git_output(repo, args, Errc::io);
  if (!files) return waiting("listing manifests: " + files.error().message);
  bundle::ImageCollector images;
  std::istringstream in(*files);
  for (std::string f; std::getline(in, f);) {
    if (!f.ends_with(".yaml") && !f.ends_with(".yml") && !f.ends_with(".json")) continue;
    auto text = gm.git_output(repo, {"show", commit + ":" + f});
    if (!text) return waiting(fmt::format("reading {}: {}", f, text.error().message));
    if (auto r = images.add_yaml(*text, f); !r) return waiting(r.error().message);
  }
  for (const auto& use : images.images()) {
    auto r = pull_image(mirror, reg, use.ref);
    if (!r.ready) return as_gate(r);
  }
  return {true, ""};
}

git::GateResult bundle_gate(const git::GitMirror& gm, const std::filesystem::path& repo,
                            const std::string& commit, const GitGateConfig& gate,
                            bundle::ReleaseJobs& releases) {
  auto text = gm.git_output(repo, {"show", commit + ":" + gate.release_file});
  if (!text) return waiting(fmt::format("{} (it names this commit's release)", gate.release_file));
  auto rel = parse_release_file(*text);
  if (!rel) return waiting(fmt::format("{}: {}", gate.release_file, rel.error().message));
  const auto& [source, name, version] = *rel;
  auto st = releases.start(name, version, source, bundle::SourceFrom::release_file);
  if (!st) return waiting(fmt::format("release {} {}: {}", name, version, st.error().message));
  auto now = releases.status(name, version);
  if (now.state == bundle::ReleaseState::ready) return {true, ""};
  return waiting(fmt::format("release {} {}: {}{}", name, version, bundle::state_name(now.state),
                             now.error.empty() ? "" : " (" + now.error + ")"));
}

}  // namespace

PulledImage pull_image(registry::Mirror& mirror, const RegistryConfig& reg,
                       const registry::ImageRef& ref) {
  PulledImage out;
  auto waiting = [&out](std::string why) {
    out.why = std::move(why);
    return out;
  };
  if (!reg.find(ref.registry))
    return waiting(fmt::format("{}: registry {} is not configured", ref.str(), ref.registry));
  registry::Route route = registry::manifest_route(ref);
  auto top = mirror.manifest(route);
  if (!top) return waiting(fmt::format("image {}: {}", ref.str(), top.error().message));
  out.top = top->digest;
  out.blobs.push_back({top->digest, top->bytes.size(), top->media_type});
  std::vector<std::string> manifests;
  if (registry::is_index_media_type(top->media_type)) {
    auto info = registry::parse_manifest(top->bytes);
    if (!info) return waiting(ref.str() + ": unreadable index");
    for (const auto& desc : info->manifests) {
      registry::Route child = route;
      child.tag.clear();
      child.digest = desc.digest;
      auto m = mirror.manifest(child);
      if (!m)
        return waiting(
            fmt::format("image {} ({}): {}", ref.str(), desc.digest.str(), m.error().message));
      out.blobs.push_back({m->digest, m->bytes.size(), m->media_type});
      manifests.push_back(m->bytes);
    }
  } else {
    manifests.push_back(top->bytes);
  }
  for (const auto& bytes : manifests) {
    auto info = registry::parse_manifest(bytes);
    if (!info) return waiting(ref.str() + ": unreadable manifest");
    for (const auto& desc : info->blobs) {
      registry::Route blob;
      blob.kind = registry::Kind::blob;
      blob.upstream = ref.registry;
      blob.repo = ref.repo;
      blob.digest = desc.digest;
      if (auto ok = mirror.ensure_blob(blob); !ok)
        return waiting(
            fmt::format("image {} blob {}: {}", ref.str(), desc.digest.str(), ok.error().message));
      out.blobs.push_back({desc.digest, desc.size, ""});
    }
  }
  out.ready = true;
  return out;
}

Result<ReleaseFile> parse_release_file(std::string_view text) {
  // The file comes from the upstream repository: it is checked like all YAML from outside before
  // yaml-cpp sees it (yaml-cpp 0.7 spins on some malformed input).
  if (auto why = untrusted_yaml_problem(text)) return fail(Errc::invalid_argument, *why);
  ReleaseFile rel;
  try {
    auto y = YAML::Load(std::string(text));
    if (!y.IsMap()) return fail(Errc::invalid_argument, "not a YAML mapping");
    rel.source = y["source"].as<std::string>("");
    rel.name = y["name"].as<std::string>("");
    rel.version = y["version"].as<std::string>("");
  } catch (const YAML::Exception& e) {
    return fail(Errc::invalid_argument, fmt::format("invalid YAML: {}", e.what()));
  }
  if (rel.source.empty() || rel.name.empty() || rel.version.empty())
    return fail(Errc::invalid_argument, "needs source, name and version");
  return rel;
}

git::GateFn make_gate(const GitConfig& cfg, const RegistryConfig& registry_cfg,
                      const git::RepoId& id, registry::Mirror& mirror,
                      bundle::ReleaseJobs& releases) {
  for (const auto& g : cfg.gating) {
    if (g.repo != id.key()) continue;
    if (g.mode == GateMode::images)
      return
          [&g, &mirror, &registry_cfg](const git::GitMirror& gm, const std::filesystem::path& repo,
                                       const std::string& commit) {
            return images_gate(gm, repo, commit, g, mirror, registry_cfg);
          };
    return [&g, &releases](const git::GitMirror& gm, const std::filesystem::path& repo,
                           const std::string& commit) {
      return bundle_gate(gm, repo, commit, g, releases);
    };
  }
  return {};
}

}  // namespace outpost::gate
