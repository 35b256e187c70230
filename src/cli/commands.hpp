#pragma once
// One entry per subcommand: `setup` declares its options on the CLI11 subcommand and returns the
// action to run when it is chosen (its exit code).
#include <CLI/CLI.hpp>

#include "config/config.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outpost::cli {

using Action = std::function<int()>;

struct Command {
  const char* name;
  const char* help;
  Action (*setup)(CLI::App& sub);
};

Action setup_serve(CLI::App& sub);
Action setup_fsck(CLI::App& sub);
Action setup_images(CLI::App& sub);
Action setup_bundle(CLI::App& sub);
Action setup_gc(CLI::App& sub);
Action setup_node_config(CLI::App& sub);
Action setup_doctor(CLI::App& sub);
Action setup_storage(CLI::App& sub);
Action setup_status(CLI::App& sub);
Action setup_version(CLI::App& sub);

// Shared by commands that read the serve config: --config FILE, and the data dir it names.
struct ConfigOption {
  std::optional<std::string> path;
  void add_to(CLI::App& sub);
};

// --token-file FILE (or env OUTPOST_TOKEN): the bearer token for a running Outpost's API.
struct TokenOption {
  std::optional<std::string> file;
  void add_to(CLI::App& sub);
  // {"Authorization", "Bearer …"} when a token is given, else nothing. Throws when unreadable.
  std::vector<std::pair<std::string, std::string>> headers() const;
};

// --config plus --data-dir, for commands that work on an existing (stopped) data directory.
struct DataDirOption {
  ConfigOption config;
  std::optional<std::string> dir;
  void add_to(CLI::App& sub);
  // The data dir (--data-dir, else the config's). Throws when it holds no meta.db.
  std::filesystem::path existing(const Config& cfg) const;
};

}  // namespace outpost::cli
