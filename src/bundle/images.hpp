#pragma once
// Which images Kubernetes YAML would pull: containers, initContainers and ephemeralContainers of
// Pods and of the pod templates in Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs,
// CronJobs (and List items), across multi-document files, directories and rendered Helm /
// Kustomize output; and the Helm charts Argo CD Applications install.
#include <filesystem>
#include <istream>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace YAML {
class Node;
}
#include "registry/image_ref.hpp"

namespace outpost::bundle {

struct ImageUse {
  registry::ImageRef ref;
  std::string where;  // "file:line" of the first use
};

// A Helm chart an Argo CD Application (spec.source / spec.sources) installs from a classic chart
// repository. Charts from OCI registries are images: they are listed with the images.
struct ChartUse {
  std::string repo_url, chart, version;
  std::string where;
};

class ImageCollector {
 public:
  // Parses YAML text; `origin` names it in errors ("file:line:col: …").
  Result<void> add_yaml(const std::string& text, const std::string& origin);
  // A file, or every *.yaml / *.yml / *.json under a directory (sorted, recursive).
  Result<void> add_path(const std::filesystem::path& path);
  // One image found some other way (a Helm chart's values), unless already collected.
  void add_ref(const registry::ImageRef& ref, const std::string& where) {
    if (seen_.insert(ref.str()).second) found_.push_back({ref, where});
  }

  // De-duplicated, sorted by normalised reference.
  std::vector<ImageUse> images() const;
  std::vector<ChartUse> charts() const { return charts_; }

 private:
  Result<void> add_application(const YAML::Node& app, const std::string& origin);
  std::vector<ChartUse> charts_;
  std::vector<ImageUse> found_;
  std::set<std::string> seen_;
};

}  // namespace outpost::bundle
