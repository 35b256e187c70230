#pragma once
// The sources section of the config (sources.oci[]): GitOps sources kept in a registry (Argo CD
// `oci://` Applications, Flux OCIRepository, Helm OCI charts) that Outpost follows like a Git
// mirror: their tags revalidated and listed in the background, new versions gated on their
// images, the newest kept pinned, and the clients told when what Outpost advertises changes.
#include <string>
#include <vector>

#include "core/config_section.hpp"
#include "core/duration.hpp"

namespace outpost {

// Who is told when a followed source advertises a new version or a moved tag.
// argocd: Argo CD's /api/webhook, as a registry push event (Harbor's shape, which carries the
// registry host clients use, so Argo CD matches `repoURL: oci://<outpost>/<repository>`); the
// secret is sent as Harbor's Authorization header (webhook.harbor.secret in argocd-secret).
// flux: a notification-controller Receiver (type generic, or generic-hmac with the secret: an
// X-Signature: sha256=<hmac> header over the body).
struct SourceNotifyConfig {
  enum class Kind { argocd, flux } kind = Kind::argocd;
  std::string url;
  std::string secret;  // from secret_file or secret_env; never logged
};

// What a followed version needs before Outpost advertises it: nothing (none), or every image its
// manifests name pulled through the registry mirror (images).
enum class SourceGate { none, images };

struct OciSourceConfig {
  std::string repository;           // <registry>/<repo>, as clients name it through Outpost
  std::vector<std::string> follow;  // moving tags ("stable") and semver ranges (">=1.4.0 <2.0.0")
  Millis interval = std::chrono::minutes(1);  // how often tags and the tag list are checked
  SourceGate gate = SourceGate::images;
  int keep = 3;  // newest matching versions kept pinned (with their images) for rollback
  std::vector<SourceNotifyConfig> notify;
};

struct SourcesConfig {
  // How clients reach Outpost's registry ("https://outpost.example:8443"): the host Argo CD sees
  // in repoURL, named in its notifications. Empty: git.public_url, else the listen address.
  std::string public_url;
  std::vector<OciSourceConfig> oci;
};

namespace config {
const KeyTable<SourcesConfig>& sources_keys();
}  // namespace config

}  // namespace outpost
