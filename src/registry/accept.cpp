#include "registry/accept.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "registry/manifest.hpp"

namespace outpost::registry {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "q=0", "q=0.0", "q=0.000": the type is explicitly not acceptable.
bool quality_zero(std::string_view params) {
  while (!params.empty()) {
    auto semi = params.find(';');
    auto p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') continue;
    auto v = p.substr(2);
    return !v.empty() && v.find_first_not_of("0.") == std::string_view::npos;
  }
  return false;
}

}  // namespace

ManifestAccept ManifestAccept::parse(std::string_view header) {
  ManifestAccept a;
  std::vector<std::string> types;
  bool any = false;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (item.empty()) continue;
    auto semi = item.find(';');
    auto type = lower(trim(item.substr(0, semi)));
    if (semi != std::string_view::npos && quality_zero(item.substr(semi + 1))) continue;
    if (type.empty()) continue;
    any = true;
    if (type == "*/*" || type == "application/*") return a;  // everything
    types.push_back(std::move(type));
  }
  if (!any) return a;
  std::ranges::sort(types);
  // A client that takes every standard form (skopeo, podman, CRI-O, docker, crane list them all)
  // is treated as taking every type: its tags are every client's, not rows of their own.
  static constexpr std::string_view kStandard[] = {
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"};
  if (std::ranges::all_of(kStandard,
                          [&](std::string_view t) { return std::ranges::binary_search(types, t); }))
    return a;
  types.erase(std::unique(types.begin(), types.end()), types.end());
  a.all_ = false;
  a.types_ = std::move(types);
  return a;
}

bool ManifestAccept::accepts(std::string_view media_type) const {
  if (all_) return true;
  auto t = lower(trim(media_type.substr(0, media_type.find(';'))));
  // A manifest stored without a type (never the case for a verified one) is not refused.
  if (t.empty()) return true;
  return std::ranges::binary_search(types_, t);
}

std::string ManifestAccept::upstream_header() const {
  if (all_) return kManifestAccept;
  return fmt::format("{}", fmt::join(types_, ", "));
}

std::string ManifestAccept::key() const {
  if (all_) return {};
  return fmt::format("{}", fmt::join(types_, ","));
}

std::string ManifestAccept::describe() const {
  if (all_) return "*/*";
  return fmt::format("{}", fmt::join(types_, ", "));
}

std::string not_accepted_message(std::string_view stored_type, const ManifestAccept& accept) {
  std::string_view what = "manifest";
  if (stored_type.starts_with("application/vnd.oci.image.index"))
    what = "OCI index";
  else if (stored_type.starts_with("application/vnd.oci.image.manifest"))
    what = "OCI manifest";
  else if (stored_type.starts_with("application/vnd.docker.distribution.manifest.list"))
    what = "Docker manifest list";
  else if (stored_type.starts_with("application/vnd.docker.distribution.manifest.v2"))
    what = "Docker image manifest";
  return fmt::format(
      "{} found ({}), but the Accept header does not support it (accepts: {}); upstream "
      "has no other form of it, or cannot be reached",
      what, stored_type, accept.describe());
}

}  // namespace outpost::registry
