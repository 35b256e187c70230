#pragma once
// Validation of the names in OCI distribution URLs. Anything that is not exactly the grammar of
// the spec is refused before it reaches the store, the database or an upstream URL, so "..",
// "-x", "%2e%2e" and friends never become a path or an argument.
#include <string>
#include <string_view>

namespace outpost::registry {

// OCI repository name: path components [a-z0-9]+(([._]|__|-+)[a-z0-9]+)* joined by '/', <= 255.
bool valid_repository(std::string_view name);
// OCI tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool valid_tag(std::string_view tag);
// Docker's rule for the first component of an image name: a registry host when it contains
// '.' or ':' or is "localhost".
bool looks_like_registry_host(std::string_view component);
// Docker Hub puts single-component names under library/: "nginx" -> "library/nginx".
std::string normalize_docker_hub(std::string_view upstream_name, std::string_view repo);

}  // namespace outpost::registry
