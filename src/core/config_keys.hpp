#pragma once
// The key tables of the config sections kept outside config.cpp: the pull-through protocols'
// (config_upstreams.cpp) and auth (config_auth.cpp). Internal to core/: config.cpp's top table
// names them.
#include "core/config.hpp"
#include "core/config_section.hpp"

namespace outpost::config {

const KeyTable<RegistryConfig>& registry_keys();
const KeyTable<GitConfig>& git_keys();
const KeyTable<HelmConfig>& helm_keys();
const KeyTable<AuthConfig>& auth_keys();

}  // namespace outpost::config
