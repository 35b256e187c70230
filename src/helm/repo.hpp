#pragma once
// Which chart repository a /helm/ URL names, and which file in it. The host must be one of
// helm.upstreams and every path component plain (see core/path_component.hpp). Served URLs are
//   /helm/<host>[/<path>]/index.yaml               the upstream's index, chart URLs rewritten
//   /helm/<host>[/<path>]/charts/<name>-<version>.tgz   a chart archive that index lists
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "helm/config.hpp"
#include "upstream/config.hpp"

namespace outpost::helm {

struct ChartRepo {
  std::string host;  // a helm.upstreams host
  std::string path;  // may be empty (index at the upstream's root)

  std::string key() const { return path.empty() ? host : host + "/" + path; }
  auto operator<=>(const ChartRepo&) const = default;
};

enum class HelmFile { index, chart };

struct HelmRequest {
  ChartRepo repo;
  HelmFile what;
  std::string chart_file;  // for HelmFile::chart: "<name>-<version>.tgz"
};

// Errc::not_found for an unknown host or file, Errc::invalid_argument for a malformed path.
Result<HelmRequest> parse_helm_path(std::string_view path, const HelmConfig& cfg);
// "<host>[/<path>]" as bundles and the CLI name repositories.
Result<ChartRepo> parse_chart_repo(std::string_view host_and_path, const HelmConfig& cfg);

// Where Outpost serves a chart, relative to the repository: "charts/<name>-<version>.tgz".
std::string chart_path(std::string_view name, std::string_view version);
// Chart names are plain path components; versions may also hold '+' (SemVer build metadata).
bool valid_chart_name(std::string_view name);
bool valid_chart_version(std::string_view version);

// "<host>[/<path>]" with a host-name-like host and plain path components (no config needed).
bool valid_repo_key(std::string_view key);

// The repository an Argo CD Application's repoURL names: Outpost's own /helm/<host>/<path> URL,
// or a URL on a helm.upstreams origin. Errc::not_found when no configured upstream serves it.
Result<ChartRepo> chart_repo_for_url(std::string_view url, const HelmConfig& cfg);

// <upstream url>[/<path>]/index.yaml
std::string index_url(const HostUpstreamConfig& up, const ChartRepo& repo);

}  // namespace outpost::helm
