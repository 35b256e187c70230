#pragma once
// The `outpost bundle` subcommands (create, push, import, ensure): their arguments and actions.
// setup_bundle (cmd_bundle.cpp) declares the options; each run_* returns the exit code.
#include <optional>
#include <string>
#include <vector>

#include "bundle/create.hpp"
#include "cli/commands.hpp"

namespace outpost::cli {

struct CreateArgs {
  ConfigOption config;
  bundle::CreateOptions opt;
  std::vector<std::string> images_from, images, charts, platforms;
  std::optional<std::string> since, push, from;
  std::string output, cache;
};

struct PushArgs {
  ConfigOption config;
  std::string file, dest;
};

struct ImportArgs {
  ConfigOption config;
  TokenOption token;
  std::optional<std::string> data_dir;
  std::optional<std::string> server, name, version;
  std::string source;
};

struct EnsureArgs {
  TokenOption token;
  std::string server, source, name, version, timeout = "30m";
  bool check = false;
  std::optional<std::size_t>
      min_replicas;  // a cluster: ready on this many (default: every live one)
};

struct ExportArgs {
  TokenOption token;
  std::string server, name, version, output;
};

int run_create(const CreateArgs& a);
int run_export(const ExportArgs& a);
int run_push(const PushArgs& a);
int run_import(const ImportArgs& a);
int run_ensure(const EnsureArgs& a);

// CLI commands log warnings and errors only, to stderr (progress is shown separately).
void quiet_logging(const Config& cfg);

}  // namespace outpost::cli
