#include "registry/source_config.hpp"

#include <fmt/format.h>

#include <set>

#include "core/semver.hpp"
#include "registry/reference.hpp"

namespace outpost::config {
namespace {

const KeyTable<SourceNotifyConfig>& notify_keys() {
  using N = SourceNotifyConfig;
  static const KeyTable<N> t{
      {"kind",
       [](const Section& s, std::string_view k, N& n) {
         std::string kind;
         s.str(k, kind);
         if (kind == "argocd")
           n.kind = N::Kind::argocd;
         else if (kind == "flux")
           n.kind = N::Kind::flux;
         else
           bad(s.origin(), s.key(k), "must be argocd or flux");
       }},
      config::string_key("url", &N::url),
      {"secret_file", [](const Section& s, std::string_view,
                         N& n) { n.secret = s.secret("secret_file", "secret_env"); }},
      {"secret_env", [](const Section& s, std::string_view,
                        N& n) { n.secret = s.secret("secret_file", "secret_env"); }},
  };
  return t;
}

SourceNotifyConfig notify_config(const Section& s) {
  SourceNotifyConfig n;
  read_keys(s, notify_keys(), n);
  if (!s.has("kind")) bad(s.origin(), s.key("kind"), "must be argocd or flux");
  if (!n.url.starts_with("http://") && !n.url.starts_with("https://"))
    bad(s.origin(), s.key("url"), "must be an http:// or https:// URL");
  return n;
}

const KeyTable<OciSourceConfig>& oci_keys() {
  using O = OciSourceConfig;
  static const KeyTable<O> t{
      config::string_key("repository", &O::repository),
      {"follow", [](const Section& s, std::string_view k,
                    O& o) { o.follow = s.strings(k, "tags or semver ranges"); }},
      config::duration_key("interval", &O::interval),
      {"gate",
       [](const Section& s, std::string_view k, O& o) {
         std::string g;
         s.str(k, g);
         if (g == "images")
           o.gate = SourceGate::images;
         else if (g == "none")
           o.gate = SourceGate::none;
         else
           bad(s.origin(), s.key(k), "must be images or none");
       }},
      config::integer_key("keep", &O::keep, 1),
      config::list_of(Key<O>{"notify",
                             [](const Section& s, std::string_view k, O& o) {
                               s.sections(k, [&](const Section& e, std::size_t) {
                                 o.notify.push_back(notify_config(e));
                               });
                             }},
                      notify_keys),
  };
  return t;
}

OciSourceConfig oci_config(const Section& s, std::set<std::string>& seen) {
  OciSourceConfig o;
  read_keys(s, oci_keys(), o);
  while (o.repository.starts_with("oci://")) o.repository.erase(0, 6);
  if (o.repository.find('/') == std::string::npos || o.repository.ends_with('/'))
    bad(s.origin(), s.key("repository"),
        "must be <registry>/<repository>, e.g. ghcr.io/acme/shop-manifests");
  if (!registry::valid_repository(o.repository.substr(o.repository.find('/') + 1)))
    bad(s.origin(), s.key("repository"),
        fmt::format("'{}' is no valid repository name (lowercase components, no '..')",
                    o.repository));
  if (!seen.insert(o.repository).second)
    bad(s.origin(), s.key("repository"), fmt::format("'{}' is listed twice", o.repository));
  if (o.follow.empty())
    bad(s.origin(), s.key("follow"), "name at least one tag or semver range to follow");
  for (const auto& f : o.follow)
    if (SemVerRange::looks_like_range(f))
      if (auto r = SemVerRange::parse(f); !r) bad(s.origin(), s.key("follow"), r.error().message);
  if (o.interval < std::chrono::seconds(1))
    bad(s.origin(), s.key("interval"), "must be at least 1s");
  return o;
}

}  // namespace

const KeyTable<SourcesConfig>& sources_keys() {
  using S = SourcesConfig;
  static const KeyTable<S> t{
      config::string_key("public_url", &S::public_url),
      config::list_of(Key<S>{"oci",
                             [](const Section& s, std::string_view k, S& out) {
                               out.oci.clear();
                               std::set<std::string> seen;
                               s.sections(k, [&](const Section& e, std::size_t) {
                                 out.oci.push_back(oci_config(e, seen));
                               });
                             }},
                      oci_keys),
  };
  return t;
}

}  // namespace outpost::config
