#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/config.hpp"

namespace outpost::cli {
namespace {

struct NodeConfigArgs {
  ConfigOption config;
  std::string server;
  std::vector<std::string> registries;
  std::string format = "all";
  std::optional<std::string> out_dir;
};

// What a runtime reaches when Outpost does not answer: the registry's real endpoint.
std::string fallback(const Config& cfg, const std::string& registry) {
  if (const auto* u = cfg.registry.find(registry)) return u->url;
  return "https://" + registry;
}

std::string hosts_toml(const std::string& server_url, const std::string& outpost,
                       bool with_server) {
  std::string s;
  if (with_server) s += fmt::format("server = \"{}\"\n\n", server_url);
  s += fmt::format(
      "# Pull through Outpost first; containerd adds ?ns=<registry> so Outpost knows the "
      "upstream.\n"
      "[host.\"{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
      outpost);
  return s;
}

std::string k3s_registries(const std::vector<std::string>& regs, const std::string& outpost) {
  std::string s =
      "# /etc/rancher/k3s/registries.yaml (k3s and RKE2: "
      "/etc/rancher/rke2/registries.yaml)\nmirrors:\n";
  for (const auto& r : regs)
    s += fmt::format("  \"{}\":\n    endpoint:\n      - \"{}\"\n", r, outpost);
  return s;
}

std::string crio_registries(const Config& cfg, const std::vector<std::string>& regs,
                            const std::string& outpost) {
  std::string host = outpost.substr(outpost.find("://") + 3);
  bool insecure = outpost.starts_with("http://");
  std::string s =
      "# /etc/containers/registries.conf.d/50-outpost.conf (CRI-O, podman)\n"
      "# CRI-O sends no ?ns=, so each mirror names its upstream in the path.\n";
  for (const auto& r : regs) {
    auto real = fallback(cfg, r);
    auto location = real.substr(real.find("://") + 3);
    s += fmt::format(
        "\n[[registry]]\nprefix = \"{}\"\nlocation = \"{}\"\n\n[[registry.mirror]]\nlocation = "
        "\"{}/{}\"\n"
        "insecure = {}\n",
        r, r == "docker.io" ? "docker.io" : location, host, r, insecure ? "true" : "false");
  }
  return s;
}

int run(const NodeConfigArgs& a) {
  Config cfg = load_config(a.config.path);
  std::string outpost = a.server;
  while (outpost.ends_with('/')) outpost.pop_back();
  if (!outpost.starts_with("http://") && !outpost.starts_with("https://")) {
    std::cerr << "outpost node-config: --server must be an http(s) URL\n";
    return 2;
  }
  auto regs = a.registries;
  if (regs.empty())
    for (const auto& u : cfg.registry.upstreams) regs.push_back(u.name);

  std::vector<std::pair<std::string, std::string>> files;  // relative path, content
  bool all = a.format == "all";
  if (all || a.format == "containerd") {
    for (const auto& r : regs)
      files.emplace_back("containerd/certs.d/" + r + "/hosts.toml",
                         hosts_toml(fallback(cfg, r), outpost, true));
    files.emplace_back("containerd/certs.d/_default/hosts.toml", hosts_toml("", outpost, false));
  }
  if (all || a.format == "k3s")
    files.emplace_back("k3s/registries.yaml", k3s_registries(regs, outpost));
  if (all || a.format == "crio")
    files.emplace_back("crio/50-outpost.conf", crio_registries(cfg, regs, outpost));
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
  sub.add_option("--server", a->server,
                 "Outpost's URL as nodes reach it, e.g. http://10.0.0.5:30080")
      ->required();
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
