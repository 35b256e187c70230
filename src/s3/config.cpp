#include "s3/config.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace outpost::config {
namespace {

template <std::string S3Config::*M>
Key<S3Config> secret_key(std::string_view k, std::string_view file_key, std::string_view env_key) {
  return {k, [file_key, env_key](const Section& s, std::string_view, S3Config& c) {
            c.*M = s.secret(file_key, env_key);
          }};
}

// Bucket names as S3 has them: 3..63 of lower-case letters, digits, '.', '-'.
bool valid_bucket(const std::string& b) {
  return b.size() >= 3 && b.size() <= 63 && std::all_of(b.begin(), b.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
         });
}

}  // namespace

const KeyTable<S3Config>& s3_keys() {
  using S = S3Config;
  static const KeyTable<S> t{
      config::string_key("endpoint", &S::endpoint),
      config::string_key("bucket", &S::bucket),
      config::string_key("region", &S::region),
      config::string_key("prefix", &S::prefix),
      secret_key<&S::access_key>("access_key_env", "access_key_file", "access_key_env"),
      secret_key<&S::access_key>("access_key_file", "access_key_file", "access_key_env"),
      secret_key<&S::secret_key>("secret_key_env", "secret_key_file", "secret_key_env"),
      secret_key<&S::secret_key>("secret_key_file", "secret_key_file", "secret_key_env"),
      config::bool_key("insecure", &S::insecure),
      config::duration_key("timeout", &S::timeout),
      config::integer_key("multipart_threshold", &S::multipart_threshold, std::uint64_t{5} << 20),
      config::integer_key("part_size", &S::part_size, std::uint64_t{5} << 20),
      config::integer_key("max_attempts", &S::max_attempts, 1),
      config::duration_key("gc_interval", &S::gc_interval),
      config::duration_key("gc_grace", &S::gc_grace),
  };
  return t;
}

void check_s3(const Section& s, S3Config& c) {
  while (c.endpoint.ends_with('/')) c.endpoint.pop_back();
  if (c.endpoint.empty()) bad(s.origin(), s.key("endpoint"), "is required");
  if (!c.endpoint.starts_with("https://") && !(c.insecure && c.endpoint.starts_with("http://")))
    bad(s.origin(), s.key("endpoint"), "must start with https:// (or http:// with insecure: true)");
  if (!valid_bucket(c.bucket))
    bad(s.origin(), s.key("bucket"), "must be an S3 bucket name (3-63 of a-z 0-9 . -)");
  if (!std::all_of(c.prefix.begin(), c.prefix.end(),
                   [](char ch) {
                     return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' ||
                            ch == '-' || ch == '_' || ch == '.';
                   }) ||
      c.prefix.starts_with('/') || c.prefix.find("..") != std::string::npos)
    bad(s.origin(), s.key("prefix"), "may hold only letters, digits, '/', '-', '_' and '.'");
  if (!c.prefix.empty() && !c.prefix.ends_with('/')) c.prefix += '/';
  if (c.access_key.empty() || c.secret_key.empty())
    bad(s.origin(), s.key("access_key_env"),
        "the access key and the secret key are required (access_key_env or access_key_file, "
        "secret_key_env or secret_key_file)");
}

}  // namespace outpost::config
