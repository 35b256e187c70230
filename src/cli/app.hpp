#pragma once
// The `outpost` command line: subcommands come from one table (name, help, setup function).
namespace outpost::cli {

int run(int argc, char** argv);

}  // namespace outpost::cli
