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
  auto charts = std::make_shared<bool>(false);
  sub.add_flag("--charts", *charts,
               "Print the Helm charts Argo CD Applications install instead (repoURL chart "
               "version per line)");
  sub.footer(
      "Prints one normalised reference per line (nginx -> docker.io/library/nginx:latest), sorted\n"
      "and de-duplicated. Charts of Argo CD Applications from OCI registries are listed as\n"
      "images. Example: helm template ./chart | outpost images -");
  return [paths, with_source, charts] {
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
    if (*charts) {
      for (const auto& use : c.charts()) {
        std::cout << use.repo_url << " " << use.chart << " " << use.version;
        if (*with_source) std::cout << "\t" << use.where;
        std::cout << "\n";
      }
      return 0;
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
