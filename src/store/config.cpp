#include "store/config.hpp"

#include <fmt/format.h>

namespace outpost::config {

const KeyTable<StorageConfig>& storage_keys() {
  using S = StorageConfig;
  static const KeyTable<S> t{
      config::integer_key("keep_releases", &S::keep_releases, 1),
      config::fraction_key("gc_high_watermark", &S::gc_high_watermark),
      config::fraction_key("gc_low_watermark", &S::gc_low_watermark),
      config::duration_key("gc_interval", &S::gc_interval),
      {"s3",
       [](const Section& s, std::string_view k, S& c) {
         Section sub(s.node(k), s.key(k), s.origin());
         read_keys(sub, s3_keys(), c.s3);
         check_s3(sub, c.s3);
       },
       [] { return key_paths(s3_keys()); }},
  };
  return t;
}

}  // namespace outpost::config
