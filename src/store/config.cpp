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
  };
  return t;
}

}  // namespace outpost::config
