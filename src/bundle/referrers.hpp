#pragma once
// Referrers (OCI 1.1 `subject`): the signatures, SBOMs and attestations of an image, as
// `bundle create --with-referrers` finds them and import serves them offline.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/bundle_manifest.hpp"

namespace outpost::bundle {

// The tags of the cosign and referrers-tag schemes for a subject: sha256-<hex> (an index of its
// referrers, for registries without the referrers API), sha256-<hex>.sig, .att and .sbom.
std::vector<std::string> referrer_tag_names(const Digest& subject);

// A manifest's referrer descriptor when its `subject` is `subject` (artifactType: its own, else
// its config's mediaType, as the distribution spec builds the referrers list); nullopt when it
// names no subject or another, or is not JSON.
std::optional<BundleReferrer> as_referrer(std::string_view bytes, const Digest& digest,
                                          const std::string& media_type, const Digest& subject);

// The referrers index `kept` (an OCI image index; "" for none) with `add` merged in by digest.
std::string merge_referrers_index(std::string_view kept, const std::vector<BundleReferrer>& add);

}  // namespace outpost::bundle
