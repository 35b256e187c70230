#pragma once
// One entry per subcommand: `setup` declares its options on the CLI11 subcommand and returns the
// action to run when it is chosen (its exit code).
#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>

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
Action setup_version(CLI::App& sub);

// Shared by commands that read the serve config: --config FILE, and the data dir it names.
struct ConfigOption {
  std::optional<std::string> path;
  void add_to(CLI::App& sub);
};

}  // namespace outpost::cli
