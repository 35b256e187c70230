#pragma once
// What a client accepts as a manifest, from its Accept headers (content negotiation, as
// docker-registry does it): a stored manifest is served only when the client accepts its media
// type. No Accept header, `*/*` or `application/*` accepts every type; parameters are ignored and
// `q=0` excludes a type. A client that lists all four standard types (OCI manifest and index,
// Docker manifest and list) accepts every type too.
#include <string>
#include <string_view>
#include <vector>

namespace outpost::registry {

class ManifestAccept {
 public:
  ManifestAccept() = default;  // accepts every type
  // `header`: every Accept header of the request, joined with ", " (empty: none sent).
  static ManifestAccept parse(std::string_view header);

  bool all() const { return all_; }
  bool accepts(std::string_view media_type) const;
  // The Accept header to send upstream for this client: its manifest types (all: every type
  // Outpost understands).
  std::string upstream_header() const;
  // A canonical name of the accepted set: "" when all, else the sorted types joined by ",".
  // Tags resolved for different sets are kept apart by it.
  std::string key() const;
  // For error messages: "application/x, application/y".
  std::string describe() const;

 private:
  bool all_ = true;
  std::vector<std::string> types_;  // sorted, unique, lower case; only when !all_
};

// The 404 MANIFEST_UNKNOWN message for a stored manifest the client does not accept, naming the
// stored type (docker-registry: "OCI manifest found, but accept header does not support OCI
// manifests").
std::string not_accepted_message(std::string_view stored_type, const ManifestAccept& accept);

}  // namespace outpost::registry
