#include <iostream>

#include "cli/commands.hpp"

namespace outpost::cli {

Action setup_version(CLI::App&) {
  return [] {
    std::cout << "outpost " << OUTPOST_VERSION << "\n";
    return 0;
  };
}

}  // namespace outpost::cli
