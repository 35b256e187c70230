#pragma once
// The bundle section of the config (bundle.*): where bundles may come from, trust keys.
#include <string>
#include <vector>
#include "core/config_section.hpp"
#include "core/duration.hpp"
#include "helm/config.hpp"
#include "registry/config.hpp"
#include "store/config.hpp"

namespace outpost {

struct BundleConfig {
  // Sources the server may load bundles from (prefixes of http(s) URLs or absolute paths). Empty:
  // any http(s) URL, no local paths.
  std::vector<std::string> allowed_sources;
  int download_attempts = 20;
  // ed25519 public keys (PEM text, read from trust_keys files). When any is configured, every
  // import must carry a valid outpost-bundle.json.sig.
  std::vector<std::string> trust_keys;
  Millis stall_timeout = std::chrono::seconds(30);
};

// What bundle/ reads of the configuration: its own section and those it works through. Made from
// the whole Config (or anything with these members); it refers to them, so that must outlive it.
struct BundleSettings {
  const RegistryConfig& registry;
  const HelmConfig& helm;
  const BundleConfig& bundle;
  const StorageConfig& storage;
  template <class C>
  BundleSettings(const C& c)  // NOLINT: implicit, from the Config
      : registry(c.registry), helm(c.helm), bundle(c.bundle), storage(c.storage) {}
};

namespace config {
// The `bundle` section's key table (the one place its keys are listed).
const KeyTable<BundleConfig>& bundle_keys();
}  // namespace config

}  // namespace outpost
