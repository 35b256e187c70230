// outpost storage migrate: moves an existing hub's blobs into the bucket of storage.s3, so that
// it runs on S3 without fetching anything again.
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/progress_bar.hpp"
#include "cli/shared_db.hpp"
#include "config/config.hpp"
#include "http/client.hpp"
#include "registry/manifest.hpp"
#include "store/meta_db.hpp"
#include "tier/bucket_check.hpp"

namespace outpost::cli {
namespace {

// The metadata half (with metadata.postgres): every shared row of meta.db upserted into the
// database (a second run writes the same rows again), each manifest with the children it names
// (read from the store) for the shared GC, and each blob the bucket now holds recorded as stored.
int migrate_metadata(const Config& c, const std::filesystem::path& data, BlobStore& store,
                     const std::map<std::string, std::uint64_t>& in_bucket) {
  Metrics metrics;
  auto shared = open_shared_db(c.metadata.postgres, metrics, "storage migrate");
  if (!shared) return 2;
  PgMeta& pg = shared->meta;
  MetaDb db(data / "meta.db");
  std::optional<Error> failed;
  auto check = [&](const Result<void>& r) {
    if (!r && !failed) failed = r.error();
  };
  MetaDb::ExportSink to{
      [&](const Digest& d, const std::string& type, std::uint64_t size) {
        std::vector<Digest> children;
        if (auto bytes = store.read_all(d))
          if (auto info = registry::parse_manifest(*bytes))
            for (const auto* list : {&info->manifests, &info->blobs})
              for (const auto& desc : *list) children.push_back(desc.digest);
        check(pg.put_manifest(d, type, size, children));
      },
      [&](const std::string& u, const std::string& r, const std::string& t, const Digest& d,
          UnixSeconds at) { check(pg.put_tag(u, r, t, d, at)); },
      [&](const Digest& d, std::uint64_t size) {
        check(pg.put_blob(d, size));
        if (in_bucket.contains(std::string(d.hex())) || store.contains(d))
          check(pg.stored(d, size));
      },
      [&](const std::string& u, const std::string& r, const Digest& s, const std::string& body) {
        check(pg.put_referrers(u, r, s, body));
      },
      [&](const std::string& url, const Digest& d) { check(pg.put_helm_chart(url, d)); },
      [&](const std::string& u, const std::string& r, const std::vector<std::string>& tags,
          UnixSeconds at) { check(pg.put_tag_list(u, r, tags, at)); },
      [&](const ReleaseRecord& rec) { check(pg.record_release(rec)); }};
  auto n = db.export_rows(to);
  if (!n) failed = n.error();
  if (failed) {
    std::cerr << "outpost storage migrate: metadata: " << failed->message
              << " (run it again: it writes the same rows)\n";
    return 1;
  }
  std::cerr << fmt::format(
      "metadata copied to postgres {}: {} manifests, {} tag rows, {} blob records, {} tag lists, "
      "{} releases\n",
      shared->pool.where(), n->manifests, n->tags, n->blobs, n->tag_lists, n->releases);
  return 0;
}

int migrate(const Config& c, const std::filesystem::path& data) {
  if (!c.storage.s3.enabled()) {
    std::cerr << "outpost storage migrate: the config has no storage.s3 to migrate to\n";
    return 2;
  }
  http::CurlHttpClient client;
  Metrics metrics;
  s3::Client s3(c.storage.s3, client, metrics);
  if (auto ok = s3.check_bucket(); !ok) {
    std::cerr << "outpost storage migrate: " << ok.error().message << "\n";
    return 2;
  }
  BlobStore store(data);
  auto listed = tier::list_blobs(s3);
  if (!listed) {
    std::cerr << "outpost storage migrate: cannot list the bucket: " << listed.error().message
              << "\n";
    return 2;
  }
  std::cerr << fmt::format("bucket {} holds {} blobs; copying what it lacks from {}\n",
                           c.storage.s3.bucket, listed->size(), data.string());
  ProgressBar bar("migrate");
  auto n = tier::upload_missing(
      s3, store, *listed, [&](std::uint64_t done, std::uint64_t total) { bar.bytes(done, total); });
  if (!n) {
    bar.note("stopped: " + n.error().message + " (run it again: it resumes)");
    return 1;
  }
  bar.note(
      fmt::format("uploaded {} blobs; the bucket now holds every blob of {}", *n, data.string()));
  if (c.metadata.postgres.enabled()) return migrate_metadata(c, data, store, *listed);
  return 0;
}

}  // namespace

Action setup_storage(CLI::App& sub) {
  auto opt = std::make_shared<DataDirOption>();
  auto mig = sub.add_subcommand(
      "migrate",
      "Copy a filesystem store's blobs into the bucket of storage.s3 and, with "
      "metadata.postgres, its meta.db into PostgreSQL (resumable: a second run sends only what "
      "is missing)");
  opt->add_to(*mig);
  sub.require_subcommand(1);
  mig->footer(
      "Run it with the hub stopped or running; then start `outpost serve` with storage.s3.\n"
      "Without metadata.postgres the metadata (tags, manifests, releases) stays in the data "
      "dir's\nmeta.db; with it, meta.db is copied there and stays as the local read copy.");
  return [opt] {
    Config c = load_config(opt->config.path);
    return migrate(c, opt->existing(c));
  };
}

}  // namespace outpost::cli
