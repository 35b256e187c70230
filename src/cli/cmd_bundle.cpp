#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "bundle/create.hpp"
#include "bundle/download.hpp"
#include "bundle/images.hpp"
#include "bundle/import.hpp"
#include "cli/commands.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
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

// CLI commands log warnings and errors only, to stderr (progress lines are separate).
void quiet_logging(const Config& cfg) {
  LogConfig lc = cfg.log;
  lc.level = "warn";
  setup_logging(lc);
}

int run_create(const CreateArgs& a) {
  Config cfg = load_config(a.config.path);
  quiet_logging(cfg);
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
  std::optional<std::string> server, name, version;
  std::string source;
};

struct EnsureArgs;
int run_ensure(const EnsureArgs& a);
int ensure_release(const std::string& server, const std::string& source, const std::string& name,
                   const std::string& version, const std::string& timeout);

int run_import(const ImportArgs& a) {
  const bool url = a.source.starts_with("http://") || a.source.starts_with("https://");
  if (a.server) {  // a running Outpost does the work (its bundle.allowed_sources apply)
    std::string name = a.name.value_or(""), version = a.version.value_or("");
    if ((name.empty() || version.empty()) && !url) {
      auto head = bundle::read_bundle_manifest(a.source);
      if (!head) {
        std::cerr << "outpost bundle import: " << head.error().message << "\n";
        return 1;
      }
      name = head->name;
      version = head->version;
    }
    if (name.empty() || version.empty()) {
      std::cerr
          << "outpost bundle import: give --name and --version for a URL source with --server\n";
      return 2;
    }
    auto src = url ? a.source : std::filesystem::absolute(a.source).string();
    return ensure_release(*a.server, src, name, version, "6h");
  }
  Config cfg = load_config(a.config.path);
  quiet_logging(cfg);
  std::filesystem::path data = a.data_dir.value_or(cfg.data_dir.string());
  std::filesystem::create_directories(data);
  BlobStore store(data);
  MetaDb db(data / "meta.db");
  std::filesystem::path file = a.source;
  if (url) {  // download (resumable) next to the store, then import the file
    std::filesystem::create_directories(data / "downloads");
    file = data / "downloads" / "cli-import.tar";
    std::atomic<bool> never{false};
    http::CurlHttpClient client;
    std::uint64_t shown = 0;
    auto d = bundle::download_resumable(
        client, a.source, file, cfg.bundle.download_attempts, cfg.bundle.stall_timeout, never,
        [&](std::uint64_t done, std::uint64_t total) {
          if (done - shown < (8u << 20) && done != total) return;
          shown = done;
          progress_line(fmt::format("downloaded {:.1f}/{:.1f} MB", done / 1e6, total / 1e6));
        });
    if (!d) {
      std::cerr << "outpost bundle import: " << d.error().message << "\n";
      return 1;
    }
  }
  std::cerr << fmt::format("outpost bundle import: {} into {}\n", a.source, data.string());
  auto st = bundle::import_bundle_file(
      file, store, db, {cfg.storage.keep_releases, cfg.bundle.trust_keys}, progress_line);
  if (url) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
  }
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

struct EnsureArgs {
  std::string server, source, name, version, timeout = "30m";
  bool check = false;
};

int ensure_release(const std::string& server, const std::string& source, const std::string& name,
                   const std::string& version, const std::string& timeout_text);

// The PreSync hook: 0 only when every blob of the release is in Outpost's store, verified.
int run_ensure(const EnsureArgs& a) {
  if (!a.check) {
    if (a.source.empty()) {
      std::cerr << "outpost bundle ensure: --source is required (or use --check)\n";
      return 2;
    }
    return ensure_release(a.server, a.source, a.name, a.version, a.timeout);
  }
  http::CurlHttpClient client;
  std::string base = a.server;
  while (base.ends_with('/')) base.pop_back();
  http::ClientRequest req;
  req.url = fmt::format("{}/api/v1/releases/{}/{}", base, a.name, a.version);
  req.total_timeout = std::chrono::seconds(30);
  auto r = client.perform(req, nullptr);
  if (!r) {
    std::cerr << "outpost bundle ensure: cannot reach " << base << ": " << r.error().message
              << "\n";
    return 1;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  std::string state = r->status == 200 && !j.is_discarded() ? j.value("state", "?") : "unknown";
  std::cout << fmt::format("release {} {}: {}\n", a.name, a.version, state);
  return state == "ready" ? 0 : 1;
}

int ensure_release(const std::string& server, const std::string& source, const std::string& name,
                   const std::string& version, const std::string& timeout_text) {
  struct {
    const std::string &server, &source, &name, &version, &timeout;
  } a{server, source, name, version, timeout_text};
  auto timeout = parse_duration(a.timeout);
  if (!timeout) {
    std::cerr << "outpost bundle ensure: --timeout: " << timeout.error().message << "\n";
    return 2;
  }
  http::CurlHttpClient client;
  std::string base = a.server;
  while (base.ends_with('/')) base.pop_back();
  auto get_status = [&]() -> Result<nlohmann::json> {
    http::ClientRequest req;
    req.url = fmt::format("{}/api/v1/releases/{}/{}", base, a.name, a.version);
    req.total_timeout = std::chrono::seconds(30);
    auto r = client.perform(req, nullptr);
    if (!r) return std::unexpected(r.error());
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (r->status == 404) return nlohmann::json{{"state", "unknown"}};
    if (r->status != 200 || j.is_discarded())
      return fail(Errc::upstream_error, fmt::format("HTTP {}: {}", r->status, r->body));
    return j;
  };
  http::ClientRequest post;
  post.method = "POST";
  post.url = base + "/api/v1/releases";
  post.headers = {{"Content-Type", "application/json"}};
  post.body =
      nlohmann::json({{"source", a.source}, {"name", a.name}, {"version", a.version}}).dump();
  post.total_timeout = std::chrono::seconds(30);
  auto r = client.perform(post, nullptr);
  if (!r) {
    std::cerr << "outpost bundle ensure: cannot reach " << base << ": " << r.error().message
              << "\n";
    return 1;
  }
  if (r->status >= 400) {
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    std::cerr << "outpost bundle ensure: refused: "
              << (j.is_discarded() ? r->body : j.value("error", r->body)) << "\n";
    return 2;
  }
  const bool tty = ::isatty(2);
  auto deadline = std::chrono::steady_clock::now() + *timeout;
  std::string last_line;
  for (;;) {
    auto s = get_status();
    if (s) {
      auto state = (*s).value("state", "?");
      std::string line = fmt::format("release {} {}: {}", a.name, a.version, state);
      auto done = (*s).value("bytes_done", 0.0), total = (*s).value("bytes_total", 0.0);
      if (state == "downloading" && total > 0)
        line +=
            fmt::format(" {:.1f}/{:.1f} MB ({:.0f}%)", done / 1e6, total / 1e6, 100 * done / total);
      if (line != last_line) {
        std::cerr << (tty ? "\r\033[K" : "") << line << (tty ? "" : "\n") << std::flush;
        last_line = line;
      }
      if (state == "ready") {
        std::cerr << (tty ? "\n" : "")
                  << fmt::format("release {} {} is ready: {} blobs local and verified\n", a.name,
                                 a.version, (*s).value("blobs", 0));
        return 0;
      }
      if (state == "failed") {
        std::cerr << (tty ? "\n" : "") << "outpost bundle ensure: " << (*s).value("error", "failed")
                  << "\n";
        return 1;
      }
    } else {
      std::cerr << (tty ? "\n" : "") << "outpost bundle ensure: " << s.error().message
                << " (retrying)\n";
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << (tty ? "\n" : "")
                << fmt::format("outpost bundle ensure: not ready after {}\n", a.timeout);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
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
  c->add_option("--sign-key", create->opt.sign_key,
                "ed25519 private key (PEM) to sign the bundle with")
      ->check(CLI::ExistingFile);
  c->add_option("-o,--output", create->output, "Bundle file to write")->required();

  auto import = std::make_shared<ImportArgs>();
  auto* i = sub.add_subcommand("import",
                               "Verify a bundle (file or URL) and load it into a stopped Outpost's "
                               "data dir, or a running one (--server)");
  import->config.add_to(*i);
  i->add_option("--data-dir", import->data_dir, "Data directory (default: the config's data_dir)");
  i->add_option("--server", import->server,
                "Import through a running Outpost's API instead of a data dir");
  i->add_option("--name", import->name, "With --server and a URL: the release name");
  i->add_option("--version", import->version, "With --server and a URL: the release version");
  i->add_option("source", import->source, "Bundle file or http(s) URL (downloads resume)")
      ->required();

  auto ensure = std::make_shared<EnsureArgs>();
  auto* e =
      sub.add_subcommand("ensure",
                         "For an Argo CD PreSync hook: make a running Outpost import a release and "
                         "wait; exit 0 only when every image is local and verified");
  e->add_option("--server", ensure->server, "Outpost URL, e.g. http://outpost.outpost.svc:8080")
      ->required();
  e->add_option("--source", ensure->source, "Bundle URL (or a path under bundle.allowed_sources)");
  e->add_option("--name", ensure->name, "Release name")->required();
  e->add_option("--version", ensure->version, "Release version")->required();
  e->add_option("--timeout", ensure->timeout, "Give up after this long (default 30m)");
  e->add_flag("--check", ensure->check, "Only report readiness (exit 0 when ready); start nothing");

  return [c, i, e, create, import, ensure] {
    if (c->parsed()) return run_create(*create);
    if (i->parsed()) return run_import(*import);
    if (e->parsed()) return run_ensure(*ensure);
    return 2;
  };
}

}  // namespace outpost::cli
