#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/gc_bucket.hpp"
#include "config/config.hpp"
#include "core/duration.hpp"
#include "store/gc.hpp"

namespace outpost::cli {

Action setup_gc(CLI::App& sub) {
  auto opt = std::make_shared<DataDirOption>();
  auto all = std::make_shared<bool>(false);
  auto bucket = std::make_shared<bool>(false);
  auto args = std::make_shared<BucketGcArgs>();
  auto grace = std::make_shared<std::string>();
  opt->add_to(sub);
  sub.add_flag("--all", *all,
               "Evict every blob no retained release pins (default: down to the low watermark)");
  sub.add_flag("--bucket", *bucket,
               "Collect the shared bucket of a hub (storage.s3 + metadata.postgres): delete "
               "objects no tag or release pin has reached for the grace period");
  sub.add_flag("--orphans", args->orphans,
               "List the bucket's objects that no record names (resumable; deletes only with "
               "--delete)");
  sub.add_flag("--dry-run", args->dry_run, "With --bucket: report what would be deleted");
  sub.add_flag("--delete", args->remove, "With --orphans: delete the orphans it lists");
  sub.add_option("--grace", *grace,
                 "With --bucket/--orphans: how long unreferenced (or, orphans, how old) before "
                 "deletion (default: storage.s3.gc_grace)");
  sub.footer(
      "Blobs pinned by the newest storage.keep_releases releases of each bundle are never "
      "evicted. With storage.s3, only local copies of blobs already in the bucket are evicted.\n"
      "--bucket and --orphans run on one replica at a time (an advisory lock in PostgreSQL).");
  return [opt, all, bucket, args, grace] {
    Config c = load_config(opt->config.path);
    if (*bucket || args->orphans) {
      args->grace = std::chrono::duration_cast<std::chrono::seconds>(c.storage.s3.gc_grace);
      if (!grace->empty()) {
        auto g = parse_duration(*grace);
        if (!g) {
          std::cerr << "outpost gc: --grace: " << g.error().message << "\n";
          return 2;
        }
        args->grace = std::chrono::duration_cast<std::chrono::seconds>(*g);
      }
      return run_bucket_gc(c, *args);
    }
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
