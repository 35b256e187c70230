// `outpost bundle create` and `outpost bundle push`.
#include <algorithm>
#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "bundle/images.hpp"
#include "bundle/oci.hpp"
#include "cli/bundle_commands.hpp"
#include "cli/progress_bar.hpp"
#include "core/log.hpp"
#include "helm/repo.hpp"
#include "http/client.hpp"

namespace outpost::cli {
namespace {

int push_file(const Config& cfg, const std::filesystem::path& file, const std::string& dest,
              const std::filesystem::path& scratch) {
  auto ref = bundle::parse_oci_source(dest, cfg.registry);
  if (!ref) {
    std::cerr << "outpost bundle push: " << ref.error().message << "\n";
    return 2;
  }
  std::cerr << fmt::format("outpost bundle push: {} -> {}\n", file.string(), dest);
  Result<bundle::PushStats> st = fail(Errc::internal, "");
  {
    ProgressBar bar("pushing");
    http::CurlHttpClient client;
    st = bundle::push_bundle(cfg, file, *ref, scratch, client, bar);
  }
  if (!st) {
    std::cerr << "outpost bundle push: " << st.error().message << "\n";
    return 1;
  }
  std::cerr << fmt::format("pushed {} as {}: {} files, {} uploaded ({}), the rest already there\n",
                           dest, st->manifest, st->files, st->uploaded,
                           human_bytes(st->bytes_uploaded));
  return 0;
}

// --from oci://…: the source artifact, and the name and version it gives by default. False (said
// on stderr) for a bad reference or no name or version.
bool source_options(const Config& cfg, const CreateArgs& a, bundle::CreateOptions& opt) {
  if (a.from) {
    auto ref = bundle::parse_oci_source(*a.from, cfg.registry);
    if (!ref) {
      std::cerr << "outpost bundle create: --from " << ref.error().message << "\n";
      return false;
    }
    if (opt.name.empty()) opt.name = ref->repo.substr(ref->repo.rfind('/') + 1);
    if (opt.version.empty()) opt.version = ref->tag;
    opt.from_source = *ref;
  }
  if (opt.name.empty() || opt.version.empty()) {
    std::cerr << "outpost bundle create: give --name and --version (or --from oci://…:VERSION)\n";
    return false;
  }
  return true;
}

}  // namespace

void quiet_logging(const Config& cfg) {
  LogConfig lc = cfg.log;
  lc.level = "warn";
  setup_logging(lc);
}

int run_create(const CreateArgs& a) {
  Config cfg = load_config(a.config.path);
  quiet_logging(cfg);
  if (a.output.empty() && !a.push) {
    std::cerr << "outpost bundle create: give -o FILE, --push oci://REF, or both\n";
    return 2;
  }
  if (a.push) {  // refuse a bad destination before any download
    if (auto ref = bundle::parse_oci_source(*a.push, cfg.registry); !ref) {
      std::cerr << "outpost bundle create: --push " << ref.error().message << "\n";
      return 2;
    }
  }
  auto opt = a.opt;
  if (!source_options(cfg, a, opt)) return 2;
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
  for (const auto& use : collector.charts()) {
    auto repo = helm::chart_repo_for_url(use.repo_url, cfg.helm);
    if (!repo) throw std::runtime_error(use.where + ": " + repo.error().message);
    opt.charts.push_back({repo->key(), use.chart, use.version});
  }
  for (const auto& c : a.charts) {
    auto r = bundle::ChartRef::parse(c);
    if (!r) throw std::runtime_error("--chart " + r.error().message);
    opt.charts.push_back(*r);
  }
  std::sort(opt.charts.begin(), opt.charts.end());
  opt.charts.erase(std::unique(opt.charts.begin(), opt.charts.end()), opt.charts.end());
  for (const auto& i : a.images) {
    auto r = registry::parse_image_ref(i);
    if (!r) throw std::runtime_error(r.error().message);
    opt.images.push_back(*r);
  }
  std::sort(opt.images.begin(), opt.images.end());
  opt.images.erase(std::unique(opt.images.begin(), opt.images.end()), opt.images.end());
  if (!a.platforms.empty()) opt.platforms = a.platforms;
  if (a.since) opt.since = *a.since;
  opt.cache_dir = a.cache.empty() ? cfg.data_dir / "bundle-cache" : std::filesystem::path(a.cache);
  // Without -o the bundle is written next to the cache and removed once pushed.
  opt.output = a.output.empty()
                   ? opt.cache_dir / fmt::format("{}-{}.bundle.tar", opt.name, opt.version)
                   : std::filesystem::path(a.output);
  std::cerr << fmt::format("outpost bundle create: {} {} ({} images, {} charts)\n", opt.name,
                           opt.version, opt.images.size(), opt.charts.size());
  Result<bundle::CreateStats> stats = fail(Errc::internal, "");
  {
    ProgressBar bar("downloading");
    http::CurlHttpClient client;
    stats = bundle::create_bundle(cfg, opt, client, bar);
  }
  if (!stats) {
    std::cerr << "outpost bundle create: " << stats.error().message << "\n";
    return 1;
  }
  std::cerr << fmt::format(
      "wrote {}: {} images, {} charts, {} blobs ({} in this bundle, {}){}{}\n", opt.output.string(),
      stats->images, stats->charts, stats->blobs, stats->blobs_in_bundle,
      human_bytes(stats->bytes_in_bundle),
      opt.with_referrers ? fmt::format(", {} referrers", stats->referrers) : "",
      opt.since ? " — delta" : "");
  if (!a.push) return 0;
  int rc = push_file(cfg, opt.output, *a.push, opt.cache_dir / "push-tmp");
  if (a.output.empty()) {
    std::error_code ec;
    std::filesystem::remove(opt.output, ec);
  }
  return rc;
}

int run_push(const PushArgs& a) {
  Config cfg = load_config(a.config.path);
  quiet_logging(cfg);
  return push_file(cfg, a.file, a.dest, cfg.data_dir / "bundle-cache" / "push-tmp");
}

}  // namespace outpost::cli
