#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "bundle/create.hpp"
#include "bundle/images.hpp"
#include "bundle/import.hpp"
#include "cli/commands.hpp"
#include "core/config.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::cli {
namespace {

// Progress on stderr: one line per step (bundles are long jobs; lines read well in CI logs too).
void progress_line(const std::string& s) {
  std::cerr << "  " << s << "\n";
}

struct CreateArgs {
  ConfigOption config;
  bundle::CreateOptions opt;
  std::vector<std::string> images_from, images, platforms;
  std::optional<std::string> since;
  std::string output, cache;
};

int run_create(const CreateArgs& a) {
  Config cfg = load_config(a.config.path);
  auto opt = a.opt;
  bundle::ImageCollector collector;
  for (const auto& p : a.images_from) {
    auto r = p == "-" ? [&] {
      std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      return collector.add_yaml(text, "<stdin>");
    }()
                      : collector.add_path(p);
    if (!r) throw std::runtime_error(r.error().message);
  }
  for (const auto& use : collector.images()) opt.images.push_back(use.ref);
  for (const auto& i : a.images) {
    auto r = registry::parse_image_ref(i);
    if (!r) throw std::runtime_error(r.error().message);
    opt.images.push_back(*r);
  }
  std::sort(opt.images.begin(), opt.images.end());
  opt.images.erase(std::unique(opt.images.begin(), opt.images.end()), opt.images.end());
  if (!a.platforms.empty()) opt.platforms = a.platforms;
  if (a.since) opt.since = *a.since;
  opt.output = a.output;
  opt.cache_dir = a.cache.empty() ? cfg.data_dir / "bundle-cache" : std::filesystem::path(a.cache);
  std::cerr << fmt::format("outpost bundle create: {} {} ({} images)\n", opt.name, opt.version,
                           opt.images.size());
  auto stats = bundle::create_bundle(cfg, opt, progress_line);
  if (!stats) {
    std::cerr << "outpost bundle create: " << stats.error().message << "\n";
    return 1;
  }
  std::cerr << fmt::format("wrote {}: {} images, {} blobs ({} in this bundle, {} bytes){}\n",
                           opt.output.string(), stats->images, stats->blobs, stats->blobs_in_bundle,
                           stats->bytes_in_bundle, opt.since ? " — delta" : "");
  return 0;
}

struct ImportArgs {
  ConfigOption config;
  std::optional<std::string> data_dir;
  std::string source;
};

int run_import(const ImportArgs& a) {
  Config cfg = load_config(a.config.path);
  std::filesystem::path data = a.data_dir.value_or(cfg.data_dir.string());
  std::filesystem::create_directories(data);
  BlobStore store(data);
  MetaDb db(data / "meta.db");
  std::cerr << fmt::format("outpost bundle import: {} into {}\n", a.source, data.string());
  auto st =
      bundle::import_bundle_file(a.source, store, db, cfg.storage.keep_releases, progress_line);
  if (!st) {
    std::cerr << "outpost bundle import: " << st.error().message << " (nothing was imported)\n";
    return 1;
  }
  std::cerr << fmt::format(
      "imported release {} {}: {} blobs ({} received, {} bytes; {} already here)\n", st->name,
      st->version, st->blobs, st->received, st->bytes_received, st->deduplicated);
  for (const auto& v : st->dropped_releases)
    std::cerr << fmt::format("retention: release {} {} is no longer pinned\n", st->name, v);
  return 0;
}

}  // namespace

Action setup_bundle(CLI::App& sub) {
  sub.require_subcommand(1);
  auto create = std::make_shared<CreateArgs>();
  auto* c =
      sub.add_subcommand("create", "Resolve images to digests, download them, write a bundle file");
  create->config.add_to(*c);
  c->add_option("--name", create->opt.name, "Release (bundle) name, e.g. the application")
      ->required();
  c->add_option("--version", create->opt.version, "Release version, e.g. a Git tag or commit")
      ->required();
  c->add_option("--images-from", create->images_from,
                "Kubernetes YAML files/dirs ('-' = stdin) to take images from");
  c->add_option("--image", create->images, "An image reference (repeatable)");
  c->add_option("--platform", create->platforms, "Platforms to include (default linux/amd64)")
      ->delimiter(',');
  c->add_option("--since", create->since,
                "Base bundle file: write a delta holding only blobs it lacks")
      ->check(CLI::ExistingFile);
  c->add_option("--source-repo", create->opt.source_repo,
                "Provenance: the Git repository of the manifests");
  c->add_option("--source-commit", create->opt.source_commit,
                "Provenance: the commit of the manifests");
  c->add_option("--cache", create->cache, "Download cache (default <data_dir>/bundle-cache)");
  c->add_option("-o,--output", create->output, "Bundle file to write")->required();

  auto import = std::make_shared<ImportArgs>();
  auto* i = sub.add_subcommand("import",
                               "Verify a bundle and load it into a (stopped) Outpost's data dir");
  import->config.add_to(*i);
  i->add_option("--data-dir", import->data_dir, "Data directory (default: the config's data_dir)");
  i->add_option("source", import->source, "Bundle file")->required()->check(CLI::ExistingFile);

  return [c, i, create, import] {
    if (c->parsed()) return run_create(*create);
    if (i->parsed()) return run_import(*import);
    return 2;
  };
}

}  // namespace outpost::cli
