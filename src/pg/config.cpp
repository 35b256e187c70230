#include "pg/config.hpp"

namespace outpost::config {
namespace {

Key<PostgresConfig> password_key(std::string_view k) {
  return {k, [](const Section& s, std::string_view, PostgresConfig& c) {
            c.password = s.secret("password_file", "password_env");
          }};
}

const KeyTable<PostgresConfig>& postgres_keys() {
  using P = PostgresConfig;
  static const KeyTable<P> t{
      config::string_key("url", &P::url),
      password_key("password_env"),
      password_key("password_file"),
      config::integer_key("pool_size", &P::pool_size, 1),
      config::duration_key("connect_timeout", &P::connect_timeout),
      config::duration_key("statement_timeout", &P::statement_timeout),
      config::duration_key("retry_after", &P::retry_after),
  };
  return t;
}

void check_postgres(const Section& s, const PostgresConfig& c) {
  if (!c.url.starts_with("postgresql://") && !c.url.starts_with("postgres://"))
    bad(s.origin(), s.key("url"), "must be a postgresql:// URL");
  if (c.connect_timeout < std::chrono::seconds(1))
    bad(s.origin(), s.key("connect_timeout"), "must be at least 1s (libpq counts whole seconds)");
}

}  // namespace

const KeyTable<MetadataConfig>& metadata_keys() {
  static const KeyTable<MetadataConfig> t{
      {"postgres",
       [](const Section& s, std::string_view k, MetadataConfig& c) {
         Section sub(s.node(k), s.key(k), s.origin());
         read_keys(sub, postgres_keys(), c.postgres);
         check_postgres(sub, c.postgres);
       },
       [] { return key_paths(postgres_keys()); }},
  };
  return t;
}

}  // namespace outpost::config
