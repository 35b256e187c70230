#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "store/gc.hpp"

namespace outpost::cli {

Action setup_gc(CLI::App& sub) {
  auto opt = std::make_shared<DataDirOption>();
  auto all = std::make_shared<bool>(false);
  opt->add_to(sub);
  sub.add_flag("--all", *all,
               "Evict every blob no retained release pins (default: down to the low watermark)");
  sub.footer(
      "Blobs pinned by the newest storage.keep_releases releases of each bundle are never "
      "evicted. With storage.s3, only local copies of blobs already in the bucket are evicted.");
  return [opt, all] {
    Config c = load_config(opt->config.path);
    auto data = opt->existing(c);
    BlobStore store(data);
    MetaDb db(data / "meta.db");
    std::uint64_t target = 0;
    if (!*all) {
      auto excess = bytes_above(data, c.storage.gc_low_watermark);
      if (excess == 0) {
        std::cout << "gc: disk below the low watermark; nothing to do (use --all to evict every "
                     "unpinned blob)\n";
        return 0;
      }
      target = store.total_bytes() > excess ? store.total_bytes() - excess : 1;
    }
    // With storage.s3 the local store is the hot tier: only local copies go, never one whose
    // upload still waits, and the records stay (the bucket holds the blobs).
    std::optional<HotTier> hot;
    if (c.storage.s3.enabled())
      hot = HotTier{[queue = data / "s3-queue"](const Digest& d) {
        std::error_code ec;
        return std::filesystem::exists(queue / std::string(d.hex()), ec);
      }};
    auto r = collect_garbage(store, db, target, hot ? &*hot : nullptr);
    if (!r) {
      std::cerr << "outpost gc: " << r.error().message << "\n";
      return 1;
    }
    std::cout << fmt::format(
        "gc: evicted {} blobs ({} bytes); pinned {} bytes; store now {} bytes\n", r->evicted_blobs,
        r->evicted_bytes, r->pinned_bytes, r->store_bytes_after);
    return 0;
  };
}

}  // namespace outpost::cli
