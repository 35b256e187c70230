#include <iostream>
#include <memory>
#include <sstream>

#include "bundle/images.hpp"
#include "cli/commands.hpp"

namespace outpost::cli {

Action setup_images(CLI::App& sub) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto with_source = std::make_shared<bool>(false);
  sub.add_option("paths", *paths, "YAML files or directories; '-' reads rendered YAML from stdin")
      ->required();
  sub.add_flag("--where", *with_source, "Also print where each image is first used (file:line)");
  sub.footer(
      "Prints one normalised reference per line (nginx -> docker.io/library/nginx:latest), sorted\n"
      "and de-duplicated. Example: helm template ./chart | outpost images -");
  return [paths, with_source] {
    bundle::ImageCollector c;
    for (const auto& p : *paths) {
      Result<void> r;
      if (p == "-") {
        std::stringstream ss;
        ss << std::cin.rdbuf();
        r = c.add_yaml(ss.str(), "<stdin>");
      } else {
        r = c.add_path(p);
      }
      if (!r) {
        std::cerr << "outpost images: " << r.error().message << "\n";
        return 1;
      }
    }
    for (const auto& use : c.images()) {
      std::cout << use.ref.str();
      if (*with_source) std::cout << "\t" << use.where;
      std::cout << "\n";
    }
    return 0;
  };
}

}  // namespace outpost::cli
