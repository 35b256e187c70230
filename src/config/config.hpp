#pragma once
// The one typed configuration of Outpost, parsed in one place (YAML file, then environment
// overrides) from the sections each module owns (<module>/config.hpp: the struct and its key
// table). Components take the section they need; nothing else reads the environment.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bundle/config.hpp"
#include "cluster/config.hpp"
#include "core/config.hpp"
#include "git/config.hpp"
#include "helm/config.hpp"
#include "http/config.hpp"
#include "nodes/config.hpp"
#include "pg/config.hpp"
#include "registry/config.hpp"
#include "registry/source_config.hpp"
#include "store/config.hpp"

namespace outpost {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::filesystem::path data_dir = "./outpost-data";
  LogConfig log;
  ServerConfig server;
  RegistryConfig registry;
  GitConfig git;
  HelmConfig helm;
  StorageConfig storage;
  BundleConfig bundle;
  AuthConfig auth;
  ClusterConfig cluster;
  NodesConfig nodes;
  MetadataConfig metadata;  // metadata.postgres: shared by hub replicas (off: SQLite alone)
  SourcesConfig sources;    // sources.oci: GitOps sources in registries, followed and gated
};

// The embedded default: ./outpost-data, 127.0.0.1:8080, docker.io, ghcr.io, quay.io,
// registry.k8s.io.
Config default_config();

// Parses YAML text. `origin` names the source in error messages. Throws ConfigError.
Config parse_config(const std::string& yaml_text, const std::string& origin);

// Every key the config file accepts, as dotted paths ("registry.upstreams[].url"), from the one
// key table the parser reads with (for the reference documentation and its consistency test).
std::vector<std::string> config_key_paths();

// Reads `path` (or the embedded default when empty), then applies environment overrides
// (OUTPOST_LISTEN, OUTPOST_DATA_DIR, OUTPOST_LOG_FORMAT, OUTPOST_LOG_LEVEL). Throws ConfigError.
Config load_config(const std::optional<std::filesystem::path>& path);

}  // namespace outpost
