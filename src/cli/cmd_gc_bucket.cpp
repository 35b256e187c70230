// `outpost gc --bucket` and `outpost gc --orphans`: the shared bucket of a hub on S3 with
// metadata.postgres, collected from the database's reference counts, and its orphans swept.
#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "cli/gc_bucket.hpp"
#include "cli/shared_db.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "http/client.hpp"
#include "tier/bucket_gc.hpp"

namespace outpost::cli {

namespace {

void say(const std::string& line) {
  std::cerr << "gc: " << line << "\n";
}

// The exit status when `r` failed or did not lead (nothing when it ran), its line printed.
template <class R>
std::optional<int> did_not_run(const Result<R>& r) {
  if (!r) {
    std::cerr << "outpost gc: " << r.error().message << "\n";
    return 1;
  }
  if (!r->led) {
    std::cout << "gc: another replica is collecting the bucket now; nothing done\n";
    return 0;
  }
  return std::nullopt;
}

int collect(BucketGcLedger& ledger, s3::Client& s3, const BucketGcArgs& a) {
  auto r = tier::collect_bucket(ledger, s3, {a.grace, a.dry_run}, say);
  if (auto rc = did_not_run(r)) return *rc;
  std::cout << fmt::format(
      "gc: {} objects live; {} newly unreferenced, {} referenced again; {} {} objects ({} "
      "bytes) unreferenced for over {}s\n",
      r->live, r->newly_unreferenced, r->referenced_again, a.dry_run ? "would delete" : "deleted",
      r->deleted, r->deleted_bytes, a.grace.count());
  for (const auto& k : r->refused) std::cout << "  S3 refused to delete " << k << "\n";
  return r->refused.empty() ? 0 : 1;
}

int orphans(BucketGcLedger& ledger, s3::Client& s3, const BucketGcArgs& a) {
  auto r = tier::sweep_orphans(ledger, s3, {a.grace, a.remove}, say);
  if (auto rc = did_not_run(r)) return *rc;
  if (!r->resumed_after.empty()) std::cout << "gc: resumed after " << r->resumed_after << "\n";
  for (const auto& o : r->orphans) std::cout << "orphan " << o << "\n";
  std::cout << fmt::format(
      "gc: {} objects listed; {} orphans (no record names them){}; {} unrecorded but referenced "
      "(recorded now)\n",
      r->listed, r->orphans.size(),
      a.remove ? fmt::format(", {} deleted", r->deleted) : std::string(", none deleted (--delete)"),
      r->adopted);
  return 0;
}

}  // namespace

int run_bucket_gc(const Config& c, const BucketGcArgs& a) {
  if (!c.storage.s3.enabled() || !c.metadata.postgres.enabled()) {
    std::cerr << "outpost gc: --bucket and --orphans need storage.s3 and metadata.postgres (the "
                 "shared bucket and the database that counts its references)\n";
    return 2;
  }
  Metrics metrics;
  auto db = open_shared_db(c.metadata.postgres, metrics, "gc");
  if (!db) return 1;
  http::CurlHttpClient http;
  s3::Client s3(c.storage.s3, http, metrics);
  return a.orphans ? orphans(db->meta, s3, a) : collect(db->meta, s3, a);
}

}  // namespace outpost::cli
