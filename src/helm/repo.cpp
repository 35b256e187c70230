#include "helm/repo.hpp"

#include <fmt/format.h>

#include "core/path_component.hpp"
#include "upstream/origin.hpp"

namespace outpost::helm {

bool valid_chart_name(std::string_view name) {
  return plain_path_component(name);
}

bool valid_chart_version(std::string_view v) {
  if (v.empty() || v.size() > 100 || v.front() == '.' || v.front() == '-') return false;
  for (char ch : v) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == '+';
    if (!ok) return false;
  }
  return true;
}

std::string chart_path(std::string_view name, std::string_view version) {
  return fmt::format("charts/{}-{}.tgz", name, version);
}

Result<ChartRepo> parse_chart_repo(std::string_view s, const HelmConfig& cfg) {
  while (s.ends_with('/')) s.remove_suffix(1);
  auto slash = s.find('/');
  auto host = s.substr(0, slash);
  if (host.empty()) return fail(Errc::invalid_argument, "expected <host>[/<path>]");
  if (!cfg.find(host))
    return fail(Errc::not_found,
                fmt::format("chart repository host '{}' is not in helm.upstreams", host));
  std::string_view path = slash == std::string_view::npos ? "" : s.substr(slash + 1);
  if (!path.empty() && !plain_relative_path(path))
    return fail(Errc::invalid_argument, fmt::format("invalid chart repository path '{}'", path));
  return ChartRepo{std::string(host), std::string(path)};
}

Result<HelmRequest> parse_helm_path(std::string_view path, const HelmConfig& cfg) {
  if (!path.starts_with("/helm/")) return fail(Errc::not_found, "not a helm path");
  path.remove_prefix(6);
  if (path.ends_with("/index.yaml")) {
    auto repo = parse_chart_repo(path.substr(0, path.size() - 11), cfg);
    if (!repo) return std::unexpected(repo.error());
    return HelmRequest{*repo, HelmFile::index, {}};
  }
  auto last = path.rfind('/');
  if (last == std::string_view::npos) return fail(Errc::not_found, "expected …/index.yaml");
  auto file = path.substr(last + 1);
  auto dir = path.substr(0, last);
  if (!dir.ends_with("/charts") || !file.ends_with(".tgz"))
    return fail(Errc::not_found,
                "not a chart repository file (expected …/index.yaml or …/charts/<chart>.tgz)");
  auto stem = file.substr(0, file.size() - 4);
  if (!valid_chart_version(stem))
    return fail(Errc::invalid_argument, fmt::format("invalid chart file name '{}'", file));
  auto repo = parse_chart_repo(dir.substr(0, dir.size() - 7), cfg);
  if (!repo) return std::unexpected(repo.error());
  return HelmRequest{*repo, HelmFile::chart, std::string(file)};
}

bool valid_repo_key(std::string_view key) {
  auto slash = key.find('/');
  auto host = key.substr(0, slash);
  if (host.empty() || host.front() == '.' || host.front() == '-' || host.size() > 253) return false;
  for (char ch : host)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != ':')
      return false;
  return slash == std::string_view::npos || plain_relative_path(key.substr(slash + 1));
}

Result<ChartRepo> chart_repo_for_url(std::string_view url, const HelmConfig& cfg) {
  while (url.ends_with('/')) url.remove_suffix(1);
  if (auto at = url.find("/helm/"); at != std::string_view::npos)
    return parse_chart_repo(url.substr(at + 6), cfg);
  auto origin = upstream::url_origin(url);
  for (const auto& up : cfg.upstreams) {
    if (origin.empty() || upstream::url_origin(up.url) != origin) continue;
    // the part of the URL's path below the upstream's own path prefix
    auto scheme_end = url.find("://");
    auto path_start = url.find('/', scheme_end + 3);
    std::string_view path = path_start == std::string_view::npos ? "" : url.substr(path_start);
    auto up_start = up.url.find('/', up.url.find("://") + 3);
    std::string_view prefix =
        up_start == std::string::npos ? "" : std::string_view(up.url).substr(up_start);
    if (!path.starts_with(prefix)) continue;
    path.remove_prefix(prefix.size());
    while (path.starts_with('/')) path.remove_prefix(1);
    return parse_chart_repo(path.empty() ? up.host : up.host + "/" + std::string(path), cfg);
  }
  return fail(Errc::not_found,
              fmt::format("chart repository {} is not served by any helm.upstreams entry", url));
}

std::string index_url(const HostUpstreamConfig& up, const ChartRepo& repo) {
  return repo.path.empty() ? up.url + "/index.yaml" : up.url + "/" + repo.path + "/index.yaml";
}

}  // namespace outpost::helm
