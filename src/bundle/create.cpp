#include "bundle/create.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "bundle/bundle_reader.hpp"
#include "bundle/tar_writer.hpp"
#include "core/metrics.hpp"
#include "core/signing.hpp"
#include "core/time.hpp"
#include "helm/cache.hpp"
#include "http/client.hpp"
#include "registry/manifest.hpp"
#include "registry/mirror.hpp"

namespace outpost::bundle {
namespace fs = std::filesystem;
namespace {

struct Source {  // where a blob can be fetched from
  std::string upstream, repo;
};

bool platform_matches(const nlohmann::json& p, const std::string& want) {
  if (!p.is_object()) return false;
  std::string s = p.value("os", "") + "/" + p.value("architecture", "");
  if (want == s) return true;
  auto variant = p.value("variant", "");
  return !variant.empty() && want == s + "/" + variant;
}

}  // namespace

Result<ChartRef> ChartRef::parse(std::string_view text) {
  auto slash = text.rfind('/');
  auto colon = slash == std::string_view::npos ? slash : text.find(':', slash);
  if (slash == std::string_view::npos || colon == std::string_view::npos)
    return fail(Errc::invalid_argument,
                fmt::format("'{}': expected <host>[/<path>]/<chart>:<version>", text));
  ChartRef r{std::string(text.substr(0, slash)),
             std::string(text.substr(slash + 1, colon - slash - 1)),
             std::string(text.substr(colon + 1))};
  if (!helm::valid_repo_key(r.repo) || !helm::valid_chart_name(r.name) ||
      !helm::valid_chart_version(r.version))
    return fail(Errc::invalid_argument,
                fmt::format("'{}': expected <host>[/<path>]/<chart>:<version>", text));
  return r;
}

Result<BundleManifest> read_bundle_manifest(const fs::path& bundle) {
  auto reader = BundleReader::open(bundle);
  if (!reader) return std::unexpected(reader.error());
  return reader->head().manifest;
}

Result<CreateStats> create_bundle(const Config& cfg, const CreateOptions& opt,
                                  ProgressSink& progress) {
  if (!valid_release_part(opt.name) || !valid_release_part(opt.version))
    return fail(Errc::invalid_argument,
                "--name and --version must match [A-Za-z0-9][A-Za-z0-9._-]*");
  if (opt.images.empty() && opt.charts.empty())
    return fail(Errc::invalid_argument,
                "no images or charts given (--image / --chart / --images-from)");

  BundleManifest bm;
  bm.name = opt.name;
  bm.version = opt.version;
  bm.created_at = iso8601_now();
  bm.source_repo = opt.source_repo;
  bm.source_commit = opt.source_commit;
  std::set<Digest> base;
  if (opt.since) {
    auto b = read_bundle_manifest(*opt.since);
    if (!b) return std::unexpected(b.error());
    if (b->name != opt.name)
      return fail(Errc::invalid_argument,
                  fmt::format("--since bundle is release '{}', not '{}'", b->name, opt.name));
    bm.base_version = b->version;
    for (const auto& blob : b->blobs) base.insert(blob.digest);
  }

  RegistryConfig reg = cfg.registry;
  reg.tag_ttl = Millis(0);  // resolve tags as upstream has them now
  fs::create_directories(opt.cache_dir);
  BlobStore store(opt.cache_dir);
  MetaDb db(opt.cache_dir / "meta.db");
  Metrics metrics;
  http::CurlHttpClient client;
  registry::Mirror mirror(reg, store, db, client, metrics);

  std::vector<BundleBlob> blobs;
  std::map<Digest, Source> sources;
  auto add_blob = [&](const Digest& d, std::uint64_t size, const std::string& media_type,
                      const Source& src) {
    if (sources.contains(d)) return;
    sources.emplace(d, src);
    blobs.push_back({d, size, media_type, !base.contains(d)});
  };
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.index.v1+json"},
                          {"manifests", nlohmann::json::array()}};

  for (const auto& ref : opt.images) {
    if (!reg.find(ref.registry))
      return fail(Errc::invalid_argument,
                  fmt::format("{}: registry '{}' is not in registry.upstreams of the config",
                              ref.str(), ref.registry));
    Source src{ref.registry, ref.repo};
    registry::Route route = registry::manifest_route(ref);
    auto top = mirror.manifest(route);
    if (!top) return fail(top.error().code, fmt::format("{}: {}", ref.str(), top.error().message));
    progress.note(fmt::format("resolved {} -> {}", ref.str(), top->digest.str()));
    add_blob(top->digest, top->bytes.size(), top->media_type, src);

    std::vector<std::string> bytes_of_images;
    std::vector<std::string> found_platforms;
    if (registry::is_index_media_type(top->media_type)) {
      auto j = nlohmann::json::parse(top->bytes, nullptr, false);
      if (j.is_discarded() || !j.contains("manifests"))
        return fail(Errc::upstream_error, ref.str() + ": unreadable index");
      for (const auto& want : opt.platforms) {
        for (const auto& desc : j["manifests"]) {
          if (!platform_matches(desc.value("platform", nlohmann::json()), want)) continue;
          auto d = Digest::parse(desc.value("digest", ""));
          if (!d) return fail(Errc::upstream_error, ref.str() + ": index with a bad digest");
          registry::Route child = route;
          child.tag.clear();
          child.digest = *d;
          auto m = mirror.manifest(child);
          if (!m)
            return fail(m.error().code,
                        fmt::format("{} ({}): {}", ref.str(), want, m.error().message));
          add_blob(m->digest, m->bytes.size(), m->media_type, src);
          bytes_of_images.push_back(m->bytes);
          found_platforms.push_back(want);
          break;
        }
      }
      if (found_platforms.empty())
        return fail(Errc::not_found,
                    fmt::format("{} has no manifest for {}", ref.str(),
                                fmt::format("{}", fmt::join(opt.platforms, ", "))));
    } else {
      bytes_of_images.push_back(top->bytes);
      found_platforms = {opt.platforms.front()};
    }
    for (const auto& img : bytes_of_images) {
      auto j = nlohmann::json::parse(img, nullptr, false);
      if (j.is_discarded()) return fail(Errc::upstream_error, ref.str() + ": unreadable manifest");
      std::vector<nlohmann::json> descs;
      if (j.contains("config")) descs.push_back(j["config"]);
      if (j.contains("layers"))
        for (const auto& l : j["layers"]) descs.push_back(l);
      for (const auto& desc : descs) {
        auto d = Digest::parse(desc.value("digest", ""));
        if (!d) return fail(Errc::upstream_error, ref.str() + ": manifest with a bad digest");
        add_blob(*d, desc.value("size", std::uint64_t{0}), "", src);
      }
    }
    bm.images.push_back({ref.str(), ref.registry, ref.repo, ref.tag, top->digest, top->media_type,
                         found_platforms});
    index["manifests"].push_back(
        {{"mediaType", top->media_type},
         {"digest", top->digest.str()},
         {"size", top->bytes.size()},
         {"annotations", {{"org.opencontainers.image.ref.name", ref.str()}}}});
  }

  if (!opt.charts.empty()) {
    HelmConfig hc = cfg.helm;
    hc.request_refresh_budget = hc.fetch_timeout;  // charts as the repository lists them now
    helm::HelmCache charts(hc, opt.cache_dir, store, db, client, metrics);
    for (const auto& c : opt.charts) {
      const auto what = fmt::format("chart {}/{}:{}", c.repo, c.name, c.version);
      auto repo = helm::parse_chart_repo(c.repo, cfg.helm);
      if (!repo) return fail(repo.error().code, fmt::format("{}: {}", what, repo.error().message));
      auto entry = charts.entry(*repo, c.name, c.version);
      if (!entry)
        return fail(entry.error().code, fmt::format("{}: {}", what, entry.error().message));
      auto d = charts.chart(*repo, helm::chart_path(c.name, c.version).substr(7));
      if (!d) return fail(d.error().code, fmt::format("{}: {}", what, d.error().message));
      auto size = store.size_of(*d);
      if (!size) return std::unexpected(size.error());
      progress.note(fmt::format("resolved {} -> {}", what, d->str()));
      add_blob(*d, *size, "", Source{});
      bm.charts.push_back({repo->key(), c.name, c.version, *d, entry->entry_json});
    }
    charts.stop();
  }

  CreateStats stats;
  stats.images = opt.images.size();
  stats.charts = opt.charts.size();
  stats.blobs = blobs.size();
  std::uint64_t to_fetch = 0, fetched = 0;
  for (const auto& b : blobs)
    if (b.in_bundle && !store.contains(b.digest)) to_fetch += b.size;
  std::size_t n = 0;
  for (auto& b : blobs) {
    ++n;
    if (!b.in_bundle || store.contains(b.digest)) continue;
    const auto& src = sources.at(b.digest);
    registry::Route route;
    route.kind = registry::Kind::blob;
    route.upstream = src.upstream;
    route.repo = src.repo;
    route.digest = b.digest;
    progress.note(
        fmt::format("[{}/{}] downloading {} ({} bytes)", n, blobs.size(), b.digest.str(), b.size));
    auto done = mirror.ensure_blob(
        route, [&](std::uint64_t written) { progress.bytes(fetched + written, to_fetch); });
    if (!done)
      return fail(done.error().code, fmt::format("{}: {}", b.digest.str(), done.error().message));
    fetched += b.size;
    progress.bytes(fetched, to_fetch);
  }
  for (auto& b : blobs) {  // sizes as stored (descriptors may omit them)
    if (auto s = store.size_of(b.digest)) b.size = *s;
    if (b.in_bundle) {
      ++stats.blobs_in_bundle;
      stats.bytes_in_bundle += b.size;
    }
  }
  bm.blobs = blobs;

  auto part = fs::path(opt.output.string() + ".part");
  auto tar = TarWriter::open(part);
  if (!tar) return std::unexpected(tar.error());
  const std::string bundle_json = bm.to_json();
  if (auto r = tar->add(kBundleJson, bundle_json); !r) return std::unexpected(r.error());
  if (opt.sign_key) {
    auto sig = sign_ed25519(*opt.sign_key, bundle_json);
    if (!sig) return std::unexpected(sig.error());
    if (auto r = tar->add(kBundleSig, *sig + "\n"); !r) return std::unexpected(r.error());
  }
  if (auto r = tar->add("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"); !r)
    return std::unexpected(r.error());
  if (auto r = tar->add("index.json", index.dump()); !r) return std::unexpected(r.error());
  for (const auto& b : blobs) {
    if (!b.in_bundle) continue;
    if (auto r =
            tar->add_file("blobs/sha256/" + std::string(b.digest.hex()), store.path_for(b.digest));
        !r)
      return std::unexpected(r.error());
  }
  if (auto r = tar->finish(); !r) return std::unexpected(r.error());
  std::error_code ec;
  fs::rename(part, opt.output, ec);
  if (ec) return fail(Errc::io, "writing " + opt.output.string() + ": " + ec.message());
  mirror.stop();
  return stats;
}

}  // namespace outpost::bundle
