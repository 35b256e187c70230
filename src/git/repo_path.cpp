#include "git/repo_path.hpp"

#include <fmt/format.h>

#include "core/path_component.hpp"

namespace outpost::git {

Result<RepoId> parse_repo_id(std::string_view s, const GitConfig& cfg) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos)
    return fail(Errc::invalid_argument, "expected <host>/<path>");
  auto host = s.substr(0, slash);
  if (!cfg.find(host))
    return fail(Errc::not_found,
                fmt::format("git host '{}' is not mirrored by this Outpost", host));
  std::string_view path = s.substr(slash + 1);
  if (path.ends_with(".git")) path.remove_suffix(4);
  if (path.empty()) return fail(Errc::invalid_argument, "no repository path");
  int depth = 0;
  std::size_t start = 0;
  for (;;) {
    auto next = path.find('/', start);
    auto comp =
        path.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!plain_path_component(comp))
      return fail(Errc::invalid_argument,
                  fmt::format("invalid repository path component '{}'", comp));
    if (++depth > 10) return fail(Errc::invalid_argument, "repository path too deep");
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  return RepoId{std::string(host), std::string(path)};
}

Result<GitRequest> parse_git_path(std::string_view path, const GitConfig& cfg) {
  if (!path.starts_with("/git/")) return fail(Errc::not_found, "not a git path");
  path.remove_prefix(5);
  struct Suffix {
    std::string_view text;
    Endpoint ep;
  };
  static constexpr Suffix kSuffixes[] = {{"/info/refs", Endpoint::info_refs},
                                         {"/git-upload-pack", Endpoint::upload_pack},
                                         {"/git-receive-pack", Endpoint::receive_pack}};
  for (const auto& s : kSuffixes) {
    if (!path.ends_with(s.text)) continue;
    auto repo = parse_repo_id(path.substr(0, path.size() - s.text.size()), cfg);
    if (!repo) return std::unexpected(repo.error());
    return GitRequest{*repo, s.ep};
  }
  return fail(Errc::not_found,
              "not a smart-HTTP git endpoint (expected …/info/refs or …/git-upload-pack)");
}

std::filesystem::path mirror_dir(const std::filesystem::path& data_dir, const RepoId& id) {
  return data_dir / "git" / id.host / (id.path + ".git");
}

std::string upstream_url(const HostUpstreamConfig& up, const RepoId& id) {
  return up.url + "/" + id.path + ".git";
}

}  // namespace outpost::git
