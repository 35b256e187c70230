#include "cli/app.hpp"

int main(int argc, char** argv) {
  return outpost::cli::run(argc, argv);
}
