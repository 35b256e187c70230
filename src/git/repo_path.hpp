#pragma once
// Which mirrored repository a /git/ URL names. The host must be a configured git upstream and
// every path component must be plain (letters, digits, '.', '_', '-', not starting with '.' or
// '-'): so a URL can neither leave the mirror directory nor smuggle an option into git's argv.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "git/config.hpp"
#include "upstream/config.hpp"

namespace outpost::git {

struct RepoId {
  std::string host;  // configured upstream host, e.g. github.com
  std::string path;  // e.g. org/repo (no .git suffix)

  std::string key() const { return host + "/" + path; }
  bool operator==(const RepoId&) const = default;
  auto operator<=>(const RepoId&) const = default;
};

enum class Endpoint { info_refs, upload_pack, receive_pack };

struct GitRequest {
  RepoId repo;
  Endpoint endpoint;
};

// Parses "/git/<host>/<path>[.git]/<endpoint>". Errc::not_found for an unknown endpoint or host
// (the message says which), Errc::invalid_argument for a malformed path.
Result<GitRequest> parse_git_path(std::string_view path, const GitConfig& cfg);
// Validates "<host>/<path>[.git]" (as in webhooks and the status API).
Result<RepoId> parse_repo_id(std::string_view host_and_path, const GitConfig& cfg);

// <data>/git/<host>/<path>.git
std::filesystem::path mirror_dir(const std::filesystem::path& data_dir, const RepoId& id);
// <upstream url>/<path>.git
std::string upstream_url(const HostUpstreamConfig& up, const RepoId& id);

}  // namespace outpost::git
