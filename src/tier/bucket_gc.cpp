#include "tier/bucket_gc.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/time.hpp"
#include "tier/object_tier.hpp"

namespace outpost::tier {

Result<BucketGcReport> collect_bucket(BucketGcLedger& ledger, s3::Client& s3,
                                      const BucketGcOptions& opt,
                                      const std::function<void(const std::string&)>& say) {
  BucketGcReport out;
  auto lease = ledger.lead();
  if (!lease) return std::unexpected(lease.error());
  if (!*lease) return out;
  out.led = true;
  for (bool first = true;; first = false) {
    const auto now = unix_now();
    auto swept = ledger.sweep(now, now - opt.grace.count(), opt.batch, opt.dry_run);
    if (!swept) return std::unexpected(swept.error());
    if (first) {
      out.live = swept->live;
      out.newly_unreferenced = swept->newly_unreferenced;
      out.referenced_again = swept->referenced_again;
    }
    std::vector<std::string> keys;
    for (const auto& g : swept->forgotten) {
      keys.push_back(ObjectTier::key_of(g.digest));
      out.deleted_bytes += g.size;
    }
    out.deleted += keys.size();
    if (!opt.dry_run && !keys.empty()) {
      auto refused = s3.remove(keys);
      if (!refused) return std::unexpected(refused.error());
      out.refused.insert(out.refused.end(), refused->begin(), refused->end());
    }
    if (say && !keys.empty())
      say(fmt::format("{} {} objects ({} in all)", opt.dry_run ? "would delete" : "deleted",
                      keys.size(), out.deleted));
    // A dry run sees the same first batch again: one round is its report.
    if (opt.dry_run || swept->forgotten.size() < opt.batch) break;
  }
  return out;
}

Result<OrphanReport> sweep_orphans(BucketGcLedger& ledger, s3::Client& s3, const OrphanOptions& opt,
                                   const std::function<void(const std::string&)>& say) {
  OrphanReport out;
  auto lease = ledger.lead();
  if (!lease) return std::unexpected(lease.error());
  if (!*lease) return out;
  out.led = true;
  std::string after;
  if (opt.remove) {
    auto c = ledger.sweep_cursor();
    if (!c) return std::unexpected(c.error());
    after = out.resumed_after = *c;
  }
  const auto young = unix_now() - opt.grace.count();
  for (;;) {
    auto page = s3.list("blobs/sha256/", "", 1000, after);
    if (!page) return std::unexpected(page.error());
    std::vector<std::pair<std::string, std::uint64_t>> listed;
    for (const auto& o : page->objects) {
      auto hex = o.key.substr(o.key.rfind('/') + 1);
      if (hex.size() == 64 && o.last_modified <= young) listed.emplace_back(hex, o.size);
    }
    out.listed += page->objects.size();
    auto unknown = ledger.unknown(listed);
    if (!unknown) return std::unexpected(unknown.error());
    out.adopted += unknown->live.size();
    std::vector<std::string> keys;
    for (const auto& [hex, size] : listed)
      if (std::binary_search(unknown->orphans.begin(), unknown->orphans.end(), hex)) {
        out.orphans.push_back(fmt::format("{} {}", hex, size));
        keys.push_back("blobs/sha256/" + hex);
      }
    if (opt.remove && !keys.empty()) {
      auto refused = s3.remove(keys);
      if (!refused) return std::unexpected(refused.error());
      out.deleted += keys.size() - refused->size();
    }
    if (page->objects.empty() || page->next_token.empty()) break;
    after = page->objects.back().key;
    if (opt.remove)  // resumable: a sweep interrupted here starts after this page
      if (auto c = ledger.set_sweep_cursor(after); !c) return std::unexpected(c.error());
    if (say) say(fmt::format("{} objects listed, {} orphans", out.listed, out.orphans.size()));
  }
  if (opt.remove)
    if (auto c = ledger.set_sweep_cursor(""); !c) return std::unexpected(c.error());
  return out;
}

BucketGcLoop::BucketGcLoop(BucketGcLedger& ledger, s3::Client& s3, Millis every,
                           BucketGcOptions opt) {
  thread_ = std::jthread([&ledger, &s3, every, opt](std::stop_token st) {
    while (sleep_unless_stopped(st, every)) {
      auto r = collect_bucket(ledger, s3, opt, {});
      if (!r)
        spdlog::warn("bucket gc: {}", r.error().message);
      else if (r->led)
        spdlog::info("bucket gc: {} live objects, {} newly unreferenced, {} deleted ({} bytes)",
                     r->live, r->newly_unreferenced, r->deleted, r->deleted_bytes);
    }
  });
}

}  // namespace outpost::tier
