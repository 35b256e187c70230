#pragma once
// Config rows every upstream section shares (registry, git, helm): how to reach a server (url, its
// own credentials, insecure) and its mirrors. For the sections' own key tables.
#include <fmt/format.h>

#include <cctype>
#include <set>
#include <string>

#include "core/config_section.hpp"
#include "upstream/config.hpp"

namespace outpost::config {

inline void check_url(const std::string& origin, const std::string& key, const std::string& url,
                      bool insecure) {
  if (url.starts_with("https://")) return;
  if (url.starts_with("http://")) {
    if (!insecure) bad(origin, key, "plain http:// needs insecure: true");
    return;
  }
  bad(origin, key,
      fmt::format("'{}' must start with https:// (or http:// with insecure: true)", url));
}

template <class T>
Key<T> password_key(std::string_view k) {  // password_file or password_env, into T::password
  return {k, [](const Section& s, std::string_view, T& t) {
            t.password = s.secret("password_file", "password_env");
          }};
}

// How to reach one server: url, its own credentials, insecure. Rows shared by the origin of an
// upstream and by each of its mirrors.
template <class T>
KeyTable<T> connection_keys(KeyTable<T> first) {
  first.push_back(config::string_key("url", &T::url));
  first.push_back(config::string_key("username", &T::username));
  first.push_back(password_key<T>("password_file"));
  first.push_back(password_key<T>("password_env"));
  first.push_back(config::bool_key("insecure", &T::insecure));
  return first;
}

inline const KeyTable<MirrorConfig>& mirror_keys() {
  static const KeyTable<MirrorConfig> t = connection_keys<MirrorConfig>({});
  return t;
}

// A registry's mirror also takes repository_prefix (checked by the registry section).
inline const KeyTable<MirrorConfig>& registry_mirror_keys() {
  static const KeyTable<MirrorConfig> t = connection_keys<MirrorConfig>(
      {config::string_key("repository_prefix", &MirrorConfig::repository_prefix)});
  return t;
}

// `mirrors:` of an upstream entry, each URL checked like the origin's. A URL's path (an
// Artifactory remote repository's /artifactory/api/docker/<repo>) is kept: requests go under it.
template <class T>
Key<T> mirrors_key(const KeyTable<MirrorConfig>& (*keys)() = mirror_keys) {
  return config::list_of(Key<T>{"mirrors",
                                [keys](const Section& s, std::string_view k, T& t) {
                                  s.sections(k, [&](const Section& e, std::size_t) {
                                    MirrorConfig m;
                                    read_keys(e, keys(), m);
                                    if (m.url.empty()) bad(e.origin(), e.key("url"), "is required");
                                    check_url(e.origin(), e.key("url"), m.url, m.insecure);
                                    while (m.url.ends_with('/')) m.url.pop_back();
                                    t.mirrors.push_back(std::move(m));
                                  });
                                }},
                         keys);
}

inline const KeyTable<HostUpstreamConfig>& host_upstream_keys() {
  using H = HostUpstreamConfig;
  static const KeyTable<H> t =
      connection_keys<H>({config::string_key("host", &H::host), mirrors_key<H>()});
  return t;
}

// One git or helm upstream (host, url, credentials, mirrors), checked: a plain host name, unique
// among `hosts`, a usable URL.
inline HostUpstreamConfig host_upstream(const Section& u, std::set<std::string>& hosts,
                                        std::string_view what) {
  HostUpstreamConfig up;
  read_keys(u, host_upstream_keys(), up);
  const auto& origin = u.origin();
  if (up.host.empty()) bad(origin, u.key("host"), "is required");
  if (up.url.empty()) up.url = "https://" + up.host;
  for (char ch : up.host)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != ':')
      bad(origin, u.key("host"), "must be a host name like github.com");
  if (up.host.starts_with('-') || up.host.starts_with('.'))
    bad(origin, u.key("host"), "must be a host name like github.com");
  if (!hosts.insert(up.host).second)
    bad(origin, u.key("host"), fmt::format("duplicate {} upstream host", what));
  check_url(origin, u.key("url"), up.url, up.insecure);
  while (up.url.ends_with('/')) up.url.pop_back();
  return up;
}

template <class T>
Key<T> host_upstreams_key(std::string_view what) {
  return config::list_of(Key<T>{"upstreams",
                                [what](const Section& s, std::string_view k, T& t) {
                                  t.upstreams.clear();
                                  std::set<std::string> hosts;
                                  s.sections(k, [&](const Section& u, std::size_t) {
                                    t.upstreams.push_back(host_upstream(u, hosts, what));
                                  });
                                }},
                         host_upstream_keys);
}

}  // namespace outpost::config
