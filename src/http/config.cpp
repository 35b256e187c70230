#include "http/config.hpp"

#include <fmt/format.h>

#include <charconv>

namespace outpost::config {

const KeyTable<ServerConfig>& server_keys() {
  using S = ServerConfig;
  auto pem = [](std::string S::*m) {
    return [m](const Section& s, std::string_view k, S& c) {
      s.str(k, c.*m);
      if (!(c.*m).empty()) (void)read_secret_file(s.origin(), s.key(k), c.*m);
    };
  };
  static const KeyTable<S> t{
      config::integer_key("max_header_bytes", &S::max_header_bytes, std::size_t{1024}),
      config::integer_key("max_body_bytes", &S::max_body_bytes, std::size_t{1024}),
      config::duration_key("read_timeout", &S::read_timeout),
      config::duration_key("write_timeout", &S::write_timeout),
      config::duration_key("shutdown_grace", &S::shutdown_grace),
      config::integer_key("worker_threads", &S::worker_threads, 1),
      config::integer_key("local_threads", &S::local_threads, 1),
      config::integer_key("api_threads", &S::api_threads, 1),
      {"tls_cert_file", pem(&S::tls_cert_file)},
      {"tls_key_file", pem(&S::tls_key_file)},
  };
  return t;
}

}  // namespace outpost::config

namespace outpost {

std::string_view auth_group_name(AuthGroup g) {
  switch (g) {
    case AuthGroup::registry:
      return "registry";
    case AuthGroup::git:
      return "git";
    case AuthGroup::status:
      return "status";
    case AuthGroup::admin:
      return "admin";
    case AuthGroup::webhook:
      return "webhook";
    case AuthGroup::peer:
      return "peer";
  }
  return "?";
}

std::optional<AuthGroup> parse_auth_group(std::string_view s) {
  for (auto g :
       {AuthGroup::registry, AuthGroup::git, AuthGroup::status, AuthGroup::admin, AuthGroup::peer})
    if (auth_group_name(g) == s) return g;
  return std::nullopt;
}

ListenAddress parse_listen(const std::string& listen) {
  std::string host;
  std::string_view port;
  if (listen.starts_with('[')) {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      throw ConfigError(fmt::format("listen: '{}' must be host:port or [v6]:port", listen));
    host = listen.substr(1, close - 1);
    port = std::string_view(listen).substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos)
      throw ConfigError(fmt::format("listen: '{}' must be host:port", listen));
    host = listen.substr(0, colon);
    port = std::string_view(listen).substr(colon + 1);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535)
    throw ConfigError(fmt::format("listen: '{}' has no valid port", listen));
  if (host.empty()) host = "0.0.0.0";
  return {host, static_cast<unsigned short>(p)};
}

}  // namespace outpost
