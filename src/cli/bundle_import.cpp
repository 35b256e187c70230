// `outpost bundle import` and `outpost bundle ensure`.
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bundle/download.hpp"
#include "bundle/import.hpp"
#include "bundle/oci.hpp"
#include "bundle/release_state.hpp"
#include "cli/bundle_commands.hpp"
#include "cli/bundle_upload.hpp"
#include "cli/progress_bar.hpp"
#include "core/metrics.hpp"
#include "http/client.hpp"
#include "registry/mirror.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::cli {
namespace {

bool is_url(const std::string& s) {
  return s.starts_with("http://") || s.starts_with("https://");
}

// What a release's status (GET /api/v1/releases/<name>/<version>) says: ready, failed, or neither
// yet. In a site cluster ("replicas" present) the release is ready when `min_replicas` replicas
// are (default: every live one), and failed when that can no longer happen.
struct Verdict {
  bundle::ReleaseState state;  // ready, failed, or this replica's state
  std::string text;            // for people: the state, or "ready on 2 of 3 replicas"
};
Verdict judge(const nlohmann::json& s, std::optional<std::size_t> min_replicas) {
  auto own =
      bundle::parse_release_state(s.value("state", "")).value_or(bundle::ReleaseState::unknown);
  if (!s.contains("replicas") || !s["replicas"].is_array())
    return {own, own == bundle::ReleaseState::failed ? s.value("error", "failed")
                                                     : s.value("state", "?")};
  // The server counts ready and live replicas; only the failed ones are counted here.
  const std::size_t ready = s.value("replicas_ready", std::size_t{0});
  const std::size_t live = s.value("replicas_live", std::size_t{0});
  std::size_t failed = 0;
  std::string why;
  for (const auto& r : s["replicas"]) {
    if (r.value("state", "") != "failed") continue;
    ++failed;
    if (why.empty()) why = fmt::format("{}: {}", r.value("replica", "?"), r.value("error", ""));
  }
  const std::size_t need = min_replicas.value_or(live);
  auto text = fmt::format("ready on {} of {} live replicas", ready, live);
  if (ready >= need && ready > 0) return {bundle::ReleaseState::ready, text};
  if (own == bundle::ReleaseState::failed || live - failed < need)
    return {bundle::ReleaseState::failed, why.empty() ? s.value("error", "failed") : why};
  return {own == bundle::ReleaseState::ready ? bundle::ReleaseState::downloading : own,
          s.value("state", "?") + ", " + text};
}

int follow_release(http::HttpClient& client, const std::string& base, const std::string& name,
                   const std::string& version, Millis timeout, const std::string& timeout_text,
                   const std::vector<std::pair<std::string, std::string>>& auth,
                   std::optional<std::size_t> min_replicas,
                   std::string_view who = "outpost bundle ensure");

// Asks a running Outpost to import `source` as name/version and follows the job until the release
// is ready (0), failed or timed out (1), or the request was refused (2).
int ensure_release(const std::string& server, const std::string& source, const std::string& name,
                   const std::string& version, const std::string& timeout_text,
                   const std::vector<std::pair<std::string, std::string>>& auth,
                   std::optional<std::size_t> min_replicas = std::nullopt) {
  auto timeout = parse_duration(timeout_text);
  if (!timeout) {
    std::cerr << "outpost bundle ensure: --timeout: " << timeout.error().message << "\n";
    return 2;
  }
  http::CurlHttpClient client;
  std::string base = server;
  while (base.ends_with('/')) base.pop_back();
  http::ClientRequest post;
  post.method = "POST";
  post.url = base + "/api/v1/releases";
  post.headers = auth;
  post.headers.emplace_back("Content-Type", "application/json");
  post.body = nlohmann::json({{"source", source}, {"name", name}, {"version", version}}).dump();
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
  return follow_release(client, base, name, version, *timeout, timeout_text, auth, min_replicas);
}

// Follows a release's job on a running Outpost until the release is ready (0), failed or timed
// out (1), with its progress (download, or verification and import) on a bar.
int follow_release(http::HttpClient& client, const std::string& base, const std::string& name,
                   const std::string& version, Millis timeout, const std::string& timeout_text,
                   const std::vector<std::pair<std::string, std::string>>& auth,
                   std::optional<std::size_t> min_replicas, std::string_view who) {
  auto get_status = [&]() -> Result<nlohmann::json> {
    http::ClientRequest req;
    req.url = fmt::format("{}/api/v1/releases/{}/{}", base, name, version);
    req.headers = auth;
    req.total_timeout = std::chrono::seconds(30);
    auto r = client.perform(req, nullptr);
    if (!r) return std::unexpected(r.error());
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (r->status == 404) return nlohmann::json{{"state", "unknown"}};
    if (r->status != 200 || j.is_discarded())
      return fail(Errc::upstream_error, fmt::format("HTTP {}: {}", r->status, r->body));
    return j;
  };
  auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string prefix = fmt::format("release {} {}:", name, version);
  std::optional<ProgressBar> bar(std::in_place, prefix + " queued");
  auto end = [&](const std::string& line) {
    bar.reset();
    std::cerr << line << "\n";
  };
  for (;;) {
    auto s = get_status();
    if (s) {
      auto [state, text] = judge(*s, min_replicas);
      bar->set_label(prefix + " " + text);
      auto done = (*s).value("bytes_done", std::uint64_t{0});
      auto total = (*s).value("bytes_total", std::uint64_t{0});
      if ((state == bundle::ReleaseState::downloading ||
           state == bundle::ReleaseState::importing) &&
          total > 0)
        bar->bytes(done, total);
      if (state == bundle::ReleaseState::ready) {
        end(fmt::format("release {} {} is ready: {} blobs local and verified{}", name, version,
                        (*s).value("blobs", 0), s->contains("replicas") ? "; " + text : ""));
        return 0;
      }
      if (state == bundle::ReleaseState::failed) {
        end(fmt::format("{}: {}", who, text));
        return 1;
      }
    } else {
      bar->note(s.error().message + " (retrying)");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      end(fmt::format("{}: not ready after {}", who, timeout_text));
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// Into a stopped Outpost's data dir: an oci:// source through a registry mirror over that store,
// a URL downloaded (resumable) next to it, or a file.
Result<bundle::ImportStats> import_into(const Config& cfg, const std::filesystem::path& data,
                                        const std::string& source) {
  BlobStore store(data);
  MetaDb db(data / "meta.db");
  const bundle::ImportPolicy policy{cfg.storage.keep_releases, cfg.bundle.trust_keys};
  http::CurlHttpClient client;
  if (bundle::is_oci_source(source)) {
    auto ref = bundle::parse_oci_source(source, cfg.registry);
    if (!ref) return std::unexpected(ref.error());
    Metrics metrics;
    RegistryConfig reg = cfg.registry;
    reg.tag_ttl = Millis(0);  // the bundle tag as the registry has it now
    registry::Mirror mirror(reg, store, db, client, metrics);
    ProgressBar bar("fetching");
    auto st = bundle::import_bundle_oci(mirror, *ref, store, db, policy, bar);
    mirror.stop();
    return st;
  }
  std::filesystem::path file = source;
  if (is_url(source)) {
    std::filesystem::create_directories(data / "downloads");
    file = data / "downloads" / "cli-import.tar";
    std::atomic<bool> never{false};
    ProgressBar bar("downloading");
    auto d = bundle::download_resumable(
        client, source, file, cfg.bundle.download_attempts, cfg.bundle.stall_timeout, never,
        [&](std::uint64_t done, std::uint64_t total) { bar.bytes(done, total); });
    if (!d) return std::unexpected(d.error());
  }
  Result<bundle::ImportStats> st = fail(Errc::internal, "");
  {
    ProgressBar bar("verifying");
    st = bundle::import_bundle_file(file, store, db, policy, bar);
  }
  if (is_url(source)) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
  }
  return st;
}

}  // namespace

int run_import(const ImportArgs& a) {
  const bool remote = is_url(a.source) || bundle::is_oci_source(a.source);
  if (a.server) {  // a running Outpost does the work (its bundle.allowed_sources apply)
    std::string name = a.name.value_or(""), version = a.version.value_or("");
    if ((name.empty() || version.empty()) && !remote) {
      auto head = bundle::read_bundle_manifest(a.source);
      if (!head) {
        std::cerr << "outpost bundle import: " << head.error().message << "\n";
        return 1;
      }
      name = head->name;
      version = head->version;
    }
    if (name.empty() || version.empty()) {
      std::cerr << "outpost bundle import: give --name and --version for a URL or oci:// source "
                   "with --server\n";
      return 2;
    }
    if (!remote && std::filesystem::is_regular_file(a.source)) {
      // A file here: streamed to the server, which verifies and imports it.
      http::CurlHttpClient client;
      std::string base = *a.server;
      while (base.ends_with('/')) base.pop_back();
      if (auto up = upload_bundle(client, base, a.source, name, version, a.token.headers()); !up) {
        std::cerr << "outpost bundle import: " << up.error().message << "\n";
        return 1;
      }
      // Said once, whatever the polls below catch: a fast server may be done before the first.
      std::cerr << fmt::format("uploaded; {} is verifying and importing release {} {}\n", base,
                               name, version);
      return follow_release(client, base, name, version, std::chrono::hours(6), "6h",
                            a.token.headers(), std::nullopt, "outpost bundle import");
    }
    auto src = remote ? a.source : std::filesystem::absolute(a.source).string();
    return ensure_release(*a.server, src, name, version, "6h", a.token.headers());
  }
  Config cfg = load_config(a.config.path);
  quiet_logging(cfg);
  std::filesystem::path data = a.data_dir.value_or(cfg.data_dir.string());
  std::filesystem::create_directories(data);
  std::cerr << fmt::format("outpost bundle import: {} into {}\n", a.source, data.string());
  auto st = import_into(cfg, data, a.source);
  if (!st) {
    std::cerr << "outpost bundle import: " << st.error().message << " (nothing was imported)\n";
    return 1;
  }
  std::cerr << fmt::format("imported release {} {}: {} blobs ({} received, {}; {} already here)\n",
                           st->name, st->version, st->blobs, st->received,
                           human_bytes(st->bytes_received), st->deduplicated);
  for (const auto& v : st->dropped_releases)
    std::cerr << fmt::format("retention: release {} {} is no longer pinned\n", st->name, v);
  return 0;
}

// The PreSync hook: 0 only when every blob of the release is in Outpost's store, verified.
int run_ensure(const EnsureArgs& a) {
  if (!a.check) {
    if (a.source.empty()) {
      std::cerr << "outpost bundle ensure: --source is required (or use --check)\n";
      return 2;
    }
    return ensure_release(a.server, a.source, a.name, a.version, a.timeout, a.token.headers(),
                          a.min_replicas);
  }
  http::CurlHttpClient client;
  std::string base = a.server;
  while (base.ends_with('/')) base.pop_back();
  http::ClientRequest req;
  req.url = fmt::format("{}/api/v1/releases/{}/{}", base, a.name, a.version);
  req.headers = a.token.headers();
  req.total_timeout = std::chrono::seconds(30);
  auto r = client.perform(req, nullptr);
  if (!r) {
    std::cerr << "outpost bundle ensure: cannot reach " << base << ": " << r.error().message
              << "\n";
    return 1;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200 || j.is_discarded() || !j.is_object()) {
    std::cout << fmt::format("release {} {}: unknown\n", a.name, a.version);
    return 1;
  }
  auto v = judge(j, a.min_replicas);
  std::cout << fmt::format("release {} {}: {}\n", a.name, a.version, v.text);
  return v.state == bundle::ReleaseState::ready ? 0 : 1;
}

}  // namespace outpost::cli
