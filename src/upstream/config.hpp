#pragma once
// Where an upstream is, as configured: its mirrors and, for Git and Helm, its host.
#include <string>
#include <vector>

namespace outpost {

// A mirror of an upstream: a regional Outpost (or another cache of the same origin) tried before
// the origin. Its credentials are its own; the origin's never go to a mirror.
struct MirrorConfig {
  std::string url;  // scheme://host[:port][/prefix]
  std::string username;
  std::string password;   // from password_file or password_env; never logged
  bool insecure = false;  // allow http:// and skip TLS verification
  // Registry mirrors only: put in front of every repository on this mirror (a Harbor proxy-cache
  // project: "dockerhub-proxy" makes library/nginx dockerhub-proxy/library/nginx). Tokens from
  // its realm are asked for the prefixed name. Empty: the repository as clients name it.
  std::string repository_prefix;
};

// A Git or Helm upstream, named by host: /git/<host>/<path>, /helm/<host>/<path>.
struct HostUpstreamConfig {
  std::string host;  // the first path component after /git/ or /helm/
  std::string url;   // scheme://host[:port][/prefix] that <path> is appended to
  std::string username;
  std::string password;   // from password_file or password_env; never logged, never in argv
  bool insecure = false;  // allow http:// and skip TLS verification
  // Tried in order before the origin: <mirror url>/<path> is the same repository or chart
  // repository (an Outpost hub: http://hub:8080/git/<host>, http://hub:8080/helm/<host>).
  std::vector<MirrorConfig> mirrors;
};

}  // namespace outpost
