#include "nodes/runtime_config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

namespace outpost::nodes {
namespace {

namespace fs = std::filesystem;

// "scheme://host:port/path" -> "host:port" (the scheme's port when none is written).
std::string host_port(std::string_view url) {
  std::string_view scheme = "https";
  if (auto p = url.find("://"); p != std::string_view::npos) {
    scheme = url.substr(0, p);
    url.remove_prefix(p + 3);
  }
  url = url.substr(0, url.find('/'));
  const bool has_port = url.starts_with('[') ? url.find("]:") != std::string_view::npos
                                             : url.find(':') != std::string_view::npos;
  if (has_port) return std::string(url);
  return fmt::format("{}:{}", url, scheme == "http" ? 80 : 443);
}

int line_of(const toml::node* n) {
  return n ? static_cast<int>(n->source().begin.line) : 0;
}

Finding found(const std::string& upstream, bool through, const fs::path& file, int line,
              std::string detail) {
  return {upstream, through, file.string(), line, std::move(detail), {}};
}

// The registry table of containerd's CRI plugin for this config version, and its name.
std::pair<const toml::table*, std::string> cri_registry(const toml::table& cfg, int version) {
  const std::string plugin = version >= 3   ? "io.containerd.cri.v1.images"
                             : version == 2 ? "io.containerd.grpc.v1.cri"
                                            : "cri";
  const auto* t = cfg["plugins"][plugin]["registry"].as_table();
  return {t, fmt::format("[plugins.\"{}\".registry]", plugin)};
}

// One upstream's hosts.toml: the first host that may pull decides (containerd tries hosts in the
// order written, then `server`).
Finding read_hosts_toml(const std::string& upstream, const fs::path& file,
                        const std::vector<std::string>& outposts) {
  toml::table t;
  try {
    t = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return found(upstream, false, file, static_cast<int>(e.source().begin.line),
                 fmt::format("containerd cannot read it: {}", e.description()));
  }
  std::vector<std::pair<int, std::string>> hosts;  // line, URL
  if (const auto* h = t["host"].as_table())
    for (const auto& [url, v] : *h) {
      bool pulls = true;
      if (const auto* caps = v.as_table() ? (*v.as_table())["capabilities"].as_array() : nullptr) {
        pulls = false;
        for (const auto& c : *caps) pulls |= c.value<std::string>() == "pull";
      }
      if (pulls) hosts.emplace_back(static_cast<int>(url.source().begin.line), std::string(url));
    }
  std::sort(hosts.begin(), hosts.end());
  if (!hosts.empty()) {
    const auto& [line, url] = hosts.front();
    if (names_outpost(url, outposts))
      return found(upstream, true, file, line, fmt::format("pulls go to Outpost at {} first", url));
    return found(upstream, false, file, line,
                 fmt::format("pulls go to {} first, not to Outpost: put Outpost's [host.\"…\"] "
                             "first (outpost node-config writes it)",
                             url));
  }
  const auto server = t["server"].value<std::string>();
  if (server && names_outpost(*server, outposts))
    return found(upstream, true, file, line_of(t.get("server")), "its server is Outpost");
  return found(upstream, false, file, server ? line_of(t.get("server")) : 0,
               fmt::format("no host that may pull: pulls go to {} directly; add Outpost as the "
                           "first [host.\"…\"] (outpost node-config writes it)",
                           server ? *server : "https://" + upstream));
}

// containerd's lookup under config_path: <root>/<upstream>/hosts.toml in the first root that has
// it, else <root>/_default/hosts.toml.
Finding hosts_for(const std::string& upstream, const std::vector<std::string>& roots,
                  const fs::path& config, int config_line, const std::string& config_path,
                  const std::vector<std::string>& outposts) {
  for (const auto* dir : {&upstream, static_cast<const std::string*>(nullptr)})
    for (const auto& root : roots) {
      fs::path f = fs::path(root) / (dir ? *dir : std::string("_default")) / "hosts.toml";
      std::error_code ec;
      if (!fs::exists(f, ec)) continue;
      auto r = read_hosts_toml(upstream, f, outposts);
      r.hosts_dir = root;
      return r;
    }
  return found(upstream, false, config, config_line,
               fmt::format("config_path \"{}\" has no {}/hosts.toml (nor _default/hosts.toml): "
                           "pulls go to {} directly; write the file with outpost node-config",
                           config_path, upstream, upstream));
}

// The deprecated `mirrors` table of containerd 1.x: the first endpoint decides.
Finding legacy_mirror(const std::string& upstream, const toml::table& reg, const fs::path& config,
                      const std::vector<std::string>& outposts) {
  const auto* mirrors = reg["mirrors"].as_table();
  const toml::node* m = nullptr;
  if (mirrors) m = mirrors->contains(upstream) ? mirrors->get(upstream) : mirrors->get("*");
  const toml::array* endpoints =
      m && m->as_table() ? (*m->as_table())["endpoint"].as_array() : nullptr;
  if (!endpoints || endpoints->empty())
    return found(upstream, false, config, 0,
                 fmt::format("no config_path and no mirror for {}: pulls go to {} directly; set "
                             "config_path = \"/etc/containerd/certs.d\" and write its hosts.toml "
                             "with outpost node-config",
                             upstream, upstream));
  const auto first = (*endpoints)[0].value<std::string>().value_or("");
  const bool through = names_outpost(first, outposts);
  return found(upstream, through, config, line_of(endpoints),
               through ? fmt::format("its first mirror endpoint is Outpost ({}; the mirrors table "
                                     "is deprecated: prefer config_path and hosts.toml)",
                                     first)
                       : fmt::format("its first mirror endpoint is {}, not Outpost", first));
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(':', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Whether containerd 2.x's CRI pulls through the transfer service (the default from 2.1) rather
// than locally (use_local_image_pull, or a setting the transfer service lacks).
bool uses_transfer_service(const toml::table& images) {
  return !images["use_local_image_pull"].value_or(false) &&
         images["disable_snapshot_annotations"].value_or(true) &&
         !images["discard_unpacked_layers"].value_or(false);
}

}  // namespace

bool names_outpost(std::string_view url, const std::vector<std::string>& outposts) {
  if (url.empty()) return false;
  const auto hp = host_port(url);
  return std::any_of(outposts.begin(), outposts.end(),
                     [&](const std::string& o) { return host_port(o) == hp; });
}

RuntimeReport check_containerd(const fs::path& config_toml,
                               const std::vector<std::string>& outposts,
                               const std::vector<std::string>& upstreams) {
  RuntimeReport r{"containerd", config_toml.string(), {}, {}, {}};
  toml::table cfg;
  try {
    cfg = toml::parse_file(config_toml.string());
  } catch (const toml::parse_error& e) {
    r.error =
        fmt::format("{}:{}: {}", config_toml.string(), e.source().begin.line, e.description());
    return r;
  }
  const int version = static_cast<int>(cfg["version"].value_or(1));
  auto [reg, reg_name] = cri_registry(cfg, version);
  const toml::node* path_node = reg ? reg->get("config_path") : nullptr;
  std::string config_path = path_node ? path_node->value_or(std::string()) : std::string();
  int line = line_of(path_node);
  if (!path_node && version >= 3) {
    config_path = "/etc/containerd/certs.d:/etc/docker/certs.d";
    r.notes.push_back(
        fmt::format("version = 3 with no config_path in {}: containerd 2.x's "
                    "default \"{}\"",
                    reg_name, config_path));
  }
  if (!path_node && line == 0) line = reg ? line_of(reg) : 0;
  const auto roots = split_list(config_path);
  const auto* images =
      version >= 3 ? cfg["plugins"]["io.containerd.cri.v1.images"].as_table() : nullptr;
  const bool list_unread =
      version >= 3 && roots.size() > 1 && uses_transfer_service(images ? *images : toml::table());
  for (const auto& up : upstreams) {
    if (config_path.empty()) {
      r.findings.push_back(reg ? legacy_mirror(up, *reg, config_toml, outposts)
                               : found(up, false, config_toml, 0,
                                       fmt::format("no {} config_path: pulls go to {} directly; "
                                                   "set config_path = \"/etc/containerd/certs.d\" "
                                                   "and write its hosts.toml with outpost "
                                                   "node-config",
                                                   reg_name, up)));
      continue;
    }
    auto f = hosts_for(up, roots, config_toml, line, config_path, outposts);
    if (f.through && list_unread) {
      f = found(up, false, config_toml, line,
                fmt::format("config_path \"{}\" is a list, and containerd 2.1+ pulls through its "
                            "transfer service, which does not read a list (containerd#12415): "
                            "{} is not used; set config_path to the one directory \"{}\"",
                            config_path, f.file, f.hosts_dir));
    }
    r.findings.push_back(std::move(f));
  }
  return r;
}

RuntimeReport check_k3s(const fs::path& registries_yaml, const std::vector<std::string>& outposts,
                        const std::vector<std::string>& upstreams) {
  RuntimeReport r{"k3s", registries_yaml.string(), {}, {}, {}};
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(registries_yaml.string());
  } catch (const YAML::Exception& e) {
    r.error = fmt::format("{}:{}: {}", registries_yaml.string(), e.mark.line + 1, e.msg);
    return r;
  }
  const auto mirrors = doc["mirrors"];
  for (const auto& up : upstreams) {
    YAML::Node m = mirrors && mirrors.IsMap() && mirrors[up] ? mirrors[up]
                   : mirrors && mirrors.IsMap()              ? mirrors["*"]
                                                             : YAML::Node();
    const auto ep = m ? m["endpoint"] : YAML::Node();
    if (!ep || !ep.IsSequence() || ep.size() == 0) {
      r.findings.push_back(found(up, false, registries_yaml, 0,
                                 fmt::format("no mirror for {} (nor \"*\"): pulls go to {} "
                                             "directly; add it under mirrors: (outpost "
                                             "node-config --format k3s writes it)",
                                             up, up)));
      continue;
    }
    const auto first = ep[0].as<std::string>("");
    const bool through = names_outpost(first, outposts);
    r.findings.push_back(found(up, through, registries_yaml, ep[0].Mark().line + 1,
                               through
                                   ? fmt::format("its first endpoint is Outpost ({})", first)
                                   : fmt::format("its first endpoint is {}, not Outpost", first)));
  }
  return r;
}

namespace {

struct CrioRegistry {
  std::string prefix;
  fs::path file;
  int line = 0;
  std::vector<std::pair<std::string, int>> mirrors;  // location, line
  bool digest_only = false;
};

// The [[registry]] entries of one registries.conf, by prefix (or location when it has none).
void read_crio_file(const fs::path& file, std::map<std::string, CrioRegistry>& out,
                    std::string& error) {
  toml::table t;
  try {
    t = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    error = fmt::format("{}:{}: {}", file.string(), e.source().begin.line, e.description());
    return;
  }
  const auto* regs = t["registry"].as_array();
  if (!regs) return;
  for (const auto& n : *regs) {
    const auto* e = n.as_table();
    if (!e) continue;
    CrioRegistry c;
    c.prefix = (*e)["prefix"].value_or((*e)["location"].value_or(std::string()));
    c.file = file;
    c.line = line_of(e);
    c.digest_only = (*e)["mirror-by-digest-only"].value_or(false);
    if (const auto* ms = (*e)["mirror"].as_array())
      for (const auto& m : *ms)
        if (const auto* mt = m.as_table())
          c.mirrors.emplace_back((*mt)["location"].value_or(std::string()), line_of(mt));
    if (!c.prefix.empty()) out[c.prefix] = std::move(c);
  }
}

// The entry whose prefix matches `upstream` best (the longest; "*.example.com" matches a host
// under it).
const CrioRegistry* crio_match(const std::map<std::string, CrioRegistry>& regs,
                               const std::string& upstream) {
  const CrioRegistry* best = nullptr;
  for (const auto& [prefix, r] : regs) {
    bool match = prefix == upstream || upstream.starts_with(prefix + "/") ||
                 (prefix.starts_with("*.") && upstream.ends_with(prefix.substr(1)));
    if (match && (!best || prefix.size() > best->prefix.size())) best = &r;
  }
  return best;
}

}  // namespace

RuntimeReport check_crio(const fs::path& registries_conf, const fs::path& conf_d,
                         const std::vector<std::string>& outposts,
                         const std::vector<std::string>& upstreams) {
  RuntimeReport r{"cri-o", registries_conf.string(), {}, {}, {}};
  std::map<std::string, CrioRegistry> regs;
  std::error_code ec;
  if (fs::exists(registries_conf, ec)) read_crio_file(registries_conf, regs, r.error);
  std::vector<fs::path> drop_ins;
  if (fs::is_directory(conf_d, ec))
    for (const auto& e : fs::directory_iterator(conf_d, ec))
      if (e.path().extension() == ".conf") drop_ins.push_back(e.path());
  std::sort(drop_ins.begin(), drop_ins.end());
  for (const auto& f : drop_ins) read_crio_file(f, regs, r.error);
  if (!r.error.empty()) return r;
  for (const auto& up : upstreams) {
    const auto* c = crio_match(regs, up);
    if (!c || c->mirrors.empty()) {
      r.findings.push_back(found(up, false, c ? c->file : conf_d / "50-outpost.conf",
                                 c ? c->line : 0,
                                 fmt::format("no [[registry.mirror]] for {}: pulls go to it "
                                             "directly (outpost node-config --format crio writes "
                                             "the drop-in)",
                                             up)));
      continue;
    }
    const auto& [location, line] = c->mirrors.front();
    bool through = names_outpost(location, outposts);
    std::string detail = through ? fmt::format("its first mirror is Outpost ({})", location)
                                 : fmt::format("its first mirror is {}, not Outpost", location);
    if (through && c->digest_only) {
      through = false;
      detail = "mirror-by-digest-only = true: pulls by tag go to the registry directly";
    }
    r.findings.push_back(found(up, through, c->file, through ? line : c->line, detail));
  }
  return r;
}

}  // namespace outpost::nodes
