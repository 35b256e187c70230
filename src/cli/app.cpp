#include "cli/app.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "config/config.hpp"

namespace outpost::cli {
namespace {

constexpr Command kCommands[] = {
    {"serve", "Run the daemon: OCI registry mirror, Git cache and release API on one port",
     &setup_serve},
    {"images",
     "List the images that Kubernetes YAML (files, dirs, or rendered output on stdin) would pull",
     &setup_images},
    {"bundle", "Release image bundles: create, push, import, ensure (the Argo CD PreSync hook)",
     &setup_bundle},
    {"status",
     "Show whether the site is offline-ready: upstreams, Git mirrors, releases, Helm, store",
     &setup_status},
    {"gc", "Evict blobs no retained release pins, least recently used first", &setup_gc},
    {"node-config",
     "Print containerd hosts.toml, k3s/RKE2 registries.yaml, CRI-O registries.conf for this "
     "Outpost",
     &setup_node_config},
    {"doctor",
     "On a node: check that every registry's pulls go through Outpost (file and line to fix), "
     "register the node and prove it with a canary pull",
     &setup_doctor},
    {"fsck", "Re-verify every stored blob and the metadata; quarantine what is corrupt",
     &setup_fsck},
    {"storage", "Move a store: `storage migrate` copies its blobs into the S3 bucket",
     &setup_storage},
    {"version", "Print the version", &setup_version},
};

}  // namespace

void ConfigOption::add_to(CLI::App& sub) {
  sub.add_option("-c,--config", path,
                 "YAML config file (default: embedded defaults; env OUTPOST_* overrides apply)")
      ->check(CLI::ExistingFile);
}

void TokenOption::add_to(CLI::App& sub) {
  sub.add_option("--token-file", file,
                 "Bearer token for Outpost's API (default: env OUTPOST_TOKEN; none on loopback)");
}

std::vector<std::pair<std::string, std::string>> TokenOption::headers() const {
  std::string token;
  if (file) {
    std::ifstream in(*file);
    if (!in) throw std::runtime_error("cannot read --token-file " + *file);
    std::getline(in, token);
  } else if (const char* env = std::getenv("OUTPOST_TOKEN")) {
    token = env;
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return {};
  return {{"Authorization", "Bearer " + token}};
}

void DataDirOption::add_to(CLI::App& sub) {
  config.add_to(sub);
  sub.add_option("--data-dir", dir, "Data directory (overrides the config's data_dir)");
}

std::filesystem::path DataDirOption::existing(const Config& cfg) const {
  std::filesystem::path data = dir.value_or(cfg.data_dir.string());
  if (!std::filesystem::exists(data / "meta.db"))
    throw std::runtime_error(data.string() + " is not an Outpost data directory (no meta.db)");
  return data;
}

int run(int argc, char** argv) {
  // A peer that closes a socket or pipe mid-write (a client hanging up during a sendfile, a
  // reader of `-o -` that quits) is an EPIPE each write path handles, never the end of the
  // process. Children get SIGPIPE back (core/process).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "outpost: keeps GitOps working at the edge (Git cache, OCI registry mirror, "
      "release bundles)",
      "outpost"};
  app.require_subcommand(1);
  app.set_version_flag("--version", OUTPOST_VERSION);
  std::vector<std::pair<CLI::App*, Action>> actions;
  for (const auto& c : kCommands) {
    auto* sub = app.add_subcommand(c.name, c.help);
    actions.emplace_back(sub, c.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
  } catch (const ConfigError& e) {
    std::cerr << "outpost: config error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "outpost: " << e.what() << "\n";
    return 1;
  }
  return 1;
}

}  // namespace outpost::cli
