// outpost storage migrate: moves an existing hub's blobs into the bucket of storage.s3, so that
// it runs on S3 without fetching anything again.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/progress_bar.hpp"
#include "config/config.hpp"
#include "http/client.hpp"
#include "tier/bucket_check.hpp"

namespace outpost::cli {
namespace {

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
  return 0;
}

}  // namespace

Action setup_storage(CLI::App& sub) {
  auto opt = std::make_shared<DataDirOption>();
  auto mig = sub.add_subcommand(
      "migrate",
      "Copy a filesystem store's blobs into the bucket of storage.s3 (resumable: a second run "
      "sends only what is missing)");
  opt->add_to(*mig);
  sub.require_subcommand(1);
  mig->footer(
      "Run it with the hub stopped or running; then start `outpost serve` with storage.s3.\n"
      "The metadata (tags, manifests, releases) stays in the data dir's meta.db.");
  return [opt] {
    Config c = load_config(opt->config.path);
    return migrate(c, opt->existing(c));
  };
}

}  // namespace outpost::cli
