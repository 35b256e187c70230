#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/config.hpp"

namespace outpost::cli {
namespace {

struct NodeConfigArgs {
  ConfigOption config;
  std::vector<std::string> servers;  // one Outpost, or each replica of a site cluster
  std::vector<std::string> registries;
  std::string format = "all";
  std::optional<std::string> out_dir;
};

// What a runtime reaches when Outpost does not answer: the registry's real endpoint.
std::string fallback(const Config& cfg, const std::string& registry) {
  if (const auto* u = cfg.registry.find(registry)) return u->url;
  return "https://" + registry;
}

// Each Outpost (every replica of a site cluster) is a host of its own, tried in order before the
// registry itself: containerd moves to the next host when one fails or answers 404.
std::string hosts_toml(const std::string& server_url, const std::vector<std::string>& outposts,
                       bool with_server) {
  std::string s;
  if (with_server) s += fmt::format("server = \"{}\"\n\n", server_url);
  s += "# Pull through Outpost first; containerd adds ?ns=<registry> so Outpost knows the "
       "upstream.\n";
  if (outposts.size() > 1)
    s += "# Each replica of the site cluster is a host: containerd fails over between them.\n";
  for (const auto& o : outposts)
    s += fmt::format("[host.\"{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n", o);
  return s;
}

std::string k3s_registries(const std::vector<std::string>& regs,
                           const std::vector<std::string>& outposts) {
  std::string s =
      "# /etc/rancher/k3s/registries.yaml (k3s and RKE2: "
      "/etc/rancher/rke2/registries.yaml)\nmirrors:\n";
  for (const auto& r : regs) {
    s += fmt::format("  \"{}\":\n    endpoint:\n", r);
    for (const auto& o : outposts) s += fmt::format("      - \"{}\"\n", o);
  }
  return s;
}

std::string crio_registries(const Config& cfg, const std::vector<std::string>& regs,
                            const std::vector<std::string>& outposts) {
  std::string s =
      "# /etc/containers/registries.conf.d/50-outpost.conf (CRI-O, podman)\n"
      "# CRI-O sends no ?ns=, so each mirror names its upstream in the path.\n";
  for (const auto& r : regs) {
    auto real = fallback(cfg, r);
    auto location = real.substr(real.find("://") + 3);
    s += fmt::format("\n[[registry]]\nprefix = \"{}\"\nlocation = \"{}\"\n", r,
                     r == "docker.io" ? "docker.io" : location);
    // The direct fallback (Outpost down) speaks what the upstream speaks.
    const auto* up = cfg.registry.find(r);
    if (r != "docker.io" && (real.starts_with("http://") || (up && up->insecure)))
      s += "insecure = true\n";
    for (const auto& o : outposts)
      s += fmt::format("\n[[registry.mirror]]\nlocation = \"{}/{}\"\ninsecure = {}\n",
                       o.substr(o.find("://") + 3), r, o.starts_with("http://") ? "true" : "false");
  }
  return s;
}

int run(const NodeConfigArgs& a) {
  Config cfg = load_config(a.config.path);
  std::vector<std::string> outposts;
  for (auto url : a.servers) {
    while (url.ends_with('/')) url.pop_back();
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      std::cerr << "outpost node-config: --server must be an http(s) URL: " << url << "\n";
      return 2;
    }
    outposts.push_back(url);
  }
  auto regs = a.registries;
  if (regs.empty())
    for (const auto& u : cfg.registry.upstreams) regs.push_back(u.name);

  std::vector<std::pair<std::string, std::string>> files;  // relative path, content
  bool all = a.format == "all";
  if (all || a.format == "containerd") {
    for (const auto& r : regs)
      files.emplace_back("containerd/certs.d/" + r + "/hosts.toml",
                         hosts_toml(fallback(cfg, r), outposts, true));
    files.emplace_back("containerd/certs.d/_default/hosts.toml", hosts_toml("", outposts, false));
  }
  if (all || a.format == "k3s")
    files.emplace_back("k3s/registries.yaml", k3s_registries(regs, outposts));
  if (all || a.format == "crio")
    files.emplace_back("crio/50-outpost.conf", crio_registries(cfg, regs, outposts));
  if (files.empty()) {
    std::cerr << "outpost node-config: --format must be containerd, k3s, crio or all\n";
    return 2;
  }
  for (const auto& [path, content] : files) {
    if (a.out_dir) {
      auto p = std::filesystem::path(*a.out_dir) / path;
      std::filesystem::create_directories(p.parent_path());
      std::ofstream(p) << content;
      std::cerr << "wrote " << p.string() << "\n";
    } else {
      std::cout << "# ---- " << path << "\n" << content << "\n";
    }
  }
  return 0;
}

}  // namespace

Action setup_node_config(CLI::App& sub) {
  auto a = std::make_shared<NodeConfigArgs>();
  a->config.add_to(sub);
  sub.add_option("--server", a->servers,
                 "Outpost's URL as nodes reach it, e.g. http://10.0.0.5:30080; for a site "
                 "cluster, each replica's URL (repeat, or comma-separated), tried in order")
      ->required()
      ->delimiter(',');
  sub.add_option("--registries", a->registries,
                 "Registries to mirror (default: the config's registry.upstreams)")
      ->delimiter(',');
  sub.add_option("--format", a->format, "containerd | k3s | crio | all (default all)");
  sub.add_option("--out", a->out_dir, "Write files under this directory instead of printing them");
  sub.footer(
      "containerd: copy containerd/certs.d/* to /etc/containerd/certs.d/ and set\n"
      "  [plugins.\"io.containerd.grpc.v1.cri\".registry] config_path = "
      "\"/etc/containerd/certs.d\".");
  return [a] { return run(*a); };
}

}  // namespace outpost::cli
