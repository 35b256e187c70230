#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "http/client.hpp"
#include "pg/pool.hpp"
#include "store/fsck.hpp"
#include "store/pg_meta.hpp"
#include "tier/bucket_check.hpp"

namespace outpost::cli {
namespace {

// With storage.s3: the records against the bucket (after the local check). False when the
// bucket disagrees with a record (an object of another size) or cannot be listed.
bool check_bucket(const Config& c, const std::map<std::string, std::uint64_t>& listed,
                  BlobStore& store, MetaDb& db, const std::filesystem::path& data) {
  auto rep = tier::compare_with_bucket(listed, db, store, data / "s3-queue");
  std::cout << fmt::format("bucket {}: {} blob objects ({} bytes)\n", c.storage.s3.bucket,
                           rep.objects, rep.bytes);
  for (const auto& w : rep.wrong_size) std::cout << "object of the wrong size: " << w << "\n";
  for (const auto& o : rep.orphans) std::cout << "orphan object (no record): " << o << "\n";
  if (rep.waiting) std::cout << fmt::format("{} blobs wait for their upload\n", rep.waiting);
  if (rep.requeued)
    std::cout << fmt::format("queued {} local blobs the bucket lacked for upload\n", rep.requeued);
  return rep.clean();
}

// With metadata.postgres too: the shared database's records of the bucket against its listing.
// False when a record has no object, or one of another size.
bool check_shared_records(const Config& c, const std::map<std::string, std::uint64_t>& listed,
                          Metrics& metrics) {
  pg::Pool pool(c.metadata.postgres, metrics);
  PgMeta meta(pool);
  auto rec = meta.stored_objects();
  if (!rec) {
    std::cout << "metadata database: " << rec.error().message << "\n";
    return false;
  }
  bool ok = true;
  std::uint64_t orphans = 0;
  for (const auto& [hex, size] : rec->stored) {
    auto it = listed.find(hex);
    if (it == listed.end()) {
      std::cout << "recorded in the database, not in the bucket: sha256:" << hex << "\n";
      ok = false;
    } else if (it->second != size) {
      std::cout << fmt::format("object of the wrong size: sha256:{}: record {} bytes, object {}\n",
                               hex, size, it->second);
      ok = false;
    }
  }
  for (const auto& [hex, size] : listed)
    if (!rec->stored.contains(hex)) {
      std::cout << "orphan object (no database record): sha256:" << hex << "\n";
      ++orphans;
    }
  std::cout << fmt::format(
      "database {}: {} objects recorded as stored, {} uploads claimed and not finished, {} "
      "orphans\n",
      pool.where(), rec->stored.size(), rec->unfinished, orphans);
  return ok;
}

}  // namespace

Action setup_fsck(CLI::App& sub) {
  auto opt = std::make_shared<DataDirOption>();
  opt->add_to(sub);
  sub.footer(
      "With storage.s3, the blob records are also checked against the bucket: every record has\n"
      "an object of its size (or waits for its upload), and objects no record names are listed.\n"
      "Exit status: 0 when the store is clean, 1 when something was repaired or quarantined.");
  return [opt] {
    Config c = load_config(opt->config.path);
    auto data = opt->existing(c);
    BlobStore store(data);
    MetaDb db(data / "meta.db");
    std::optional<std::map<std::string, std::uint64_t>> listed;
    http::CurlHttpClient client;
    Metrics metrics;
    std::optional<s3::Client> s3;
    if (c.storage.s3.enabled()) {
      s3.emplace(c.storage.s3, client, metrics);
      auto l = tier::list_blobs(*s3);
      if (!l) {
        std::cerr << "outpost fsck: cannot list the bucket: " << l.error().message << "\n";
        return 2;
      }
      listed = std::move(*l);
    }
    auto rep = run_fsck(store, db, listed ? &*listed : nullptr);
    std::cout << fmt::format("checked {} blobs ({} bytes)\n", rep.blobs_checked, rep.bytes_checked);
    for (const auto& c : rep.corrupt) std::cout << "corrupt (quarantined): " << c << "\n";
    for (const auto& s : rep.stray) std::cout << "stray file (ignored): " << s << "\n";
    if (rep.missing_rows_dropped)
      std::cout << fmt::format("dropped {} metadata rows whose blob was missing\n",
                               rep.missing_rows_dropped);
    if (rep.unrecorded_registered)
      std::cout << fmt::format("registered {} published blobs missing from meta.db\n",
                               rep.unrecorded_registered);
    if (rep.tmp_removed) std::cout << fmt::format("removed {} temp files\n", rep.tmp_removed);
    if (!rep.db_ok) std::cout << "meta.db integrity check FAILED\n";
    bool bucket_ok = !listed || check_bucket(c, *listed, store, db, data);
    if (listed && c.metadata.postgres.enabled())
      bucket_ok = check_shared_records(c, *listed, metrics) && bucket_ok;
    const bool clean = rep.clean() && bucket_ok;
    std::cout << (clean ? "fsck: clean\n" : "fsck: problems found\n");
    return clean ? 0 : 1;
  };
}

}  // namespace outpost::cli
