#include "bundle/create.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "bundle/bundle_reader.hpp"
#include "bundle/referrers.hpp"
#include "bundle/source_artifact.hpp"
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

namespace {

// Builds one bundle: resolves images and charts through a Mirror and a HelmCache over a private
// cache directory, downloads what the bundle carries, writes the tar. One per create_bundle.
class BundleBuilder {
 public:
  BundleBuilder(const BundleSettings& cfg, const CreateOptions& opt, http::HttpClient& client,
                ProgressSink& progress)
      : cfg_(cfg),
        opt_(opt),
        client_(client),
        progress_(progress),
        reg_(fresh_tags(cfg.registry)),
        store_((fs::create_directories(opt.cache_dir), opt.cache_dir)),
        db_(opt.cache_dir / "meta.db"),
        mirror_(reg_, store_, db_, client, metrics_) {
    bm_.name = opt.name;
    bm_.version = opt.version;
    bm_.created_at = iso8601_now();
    bm_.source_repo = opt.source_repo;
    bm_.source_commit = opt.source_commit;
  }
  ~BundleBuilder() { mirror_.stop(); }

  Result<void> read_base();
  Result<void> add_image(const registry::ImageRef& ref);
  // The images a source artifact's manifests name (bundle/source_artifact.hpp).
  Result<std::vector<registry::ImageRef>> source_images(const registry::ImageRef& ref);
  Result<void> add_charts();
  std::size_t referrers() const { return referrers_; }
  Result<void> download(CreateStats& stats);
  Result<void> write();

 private:
  static RegistryConfig fresh_tags(RegistryConfig reg) {
    reg.tag_ttl = Millis(0);  // resolve tags as upstream has them now
    reg.revalidate = Revalidate::inline_;
    return reg;
  }
  void add_blob(const Digest& d, std::uint64_t size, const std::string& media_type,
                const Source& src) {
    if (sources_.contains(d)) return;
    sources_.emplace(d, src);
    blobs_.push_back({d, size, media_type, !base_.contains(d)});
  }
  // --with-referrers: the referrers of each subject (the top manifest, each platform manifest),
  // with their blobs, into `img`.
  Result<void> add_referrers(const registry::Route& route, const std::vector<Digest>& subjects,
                             const Source& src, BundleImage& img);
  // One referrer manifest and its blobs, once; listed in `img` when it names `subject`.
  Result<void> take_referrer(const registry::ManifestResult& m, const Digest& subject,
                             const Source& src, BundleImage& img);
  Result<registry::ManifestResult> by_digest(const registry::Route& route, const Digest& d);
  // The image manifests of `top` for the chosen platforms (top itself when it is no index).
  Result<std::vector<registry::ManifestResult>> platform_manifests(
      const registry::ImageRef& ref, const registry::Route& route,
      const registry::ManifestResult& top, const Source& src,
      std::vector<std::string>& found_platforms);

  const BundleSettings cfg_;
  const CreateOptions& opt_;
  http::HttpClient& client_;
  ProgressSink& progress_;
  RegistryConfig reg_;
  BlobStore store_;
  MetaDb db_;
  Metrics metrics_;
  registry::Mirror mirror_;
  BundleManifest bm_;
  std::set<Digest> base_;  // blobs the --since release already holds
  std::vector<BundleBlob> blobs_;
  std::map<Digest, Source> sources_;
  std::size_t referrers_ = 0;
  nlohmann::json index_ = {{"schemaVersion", 2},
                           {"mediaType", "application/vnd.oci.image.index.v1+json"},
                           {"manifests", nlohmann::json::array()}};
};

Result<void> BundleBuilder::read_base() {
  if (!opt_.since) return {};
  auto b = read_bundle_manifest(*opt_.since);
  if (!b) return std::unexpected(b.error());
  if (b->name != opt_.name)
    return fail(Errc::invalid_argument,
                fmt::format("--since bundle is release '{}', not '{}'", b->name, opt_.name));
  bm_.base_version = b->version;
  for (const auto& blob : b->blobs) base_.insert(blob.digest);
  return {};
}

Result<std::vector<registry::ManifestResult>> BundleBuilder::platform_manifests(
    const registry::ImageRef& ref, const registry::Route& route,
    const registry::ManifestResult& top, const Source& src,
    std::vector<std::string>& found_platforms) {
  if (!registry::is_index_media_type(top.media_type)) {
    found_platforms = {opt_.platforms.front()};
    return std::vector<registry::ManifestResult>{top};
  }
  auto info = registry::parse_manifest(top.bytes);
  if (!info) return fail(Errc::upstream_error, ref.str() + ": unreadable index");
  std::vector<registry::ManifestResult> out;
  for (const auto& want : opt_.platforms) {
    for (const auto& desc : info->manifests) {
      if (!desc.matches_platform(want)) continue;
      registry::Route child = route;
      child.tag.clear();
      child.digest = desc.digest;
      auto m = mirror_.manifest(child);
      if (!m)
        return fail(m.error().code, fmt::format("{} ({}): {}", ref.str(), want, m.error().message));
      add_blob(m->digest, m->bytes.size(), m->media_type, src);
      out.push_back(std::move(*m));
      found_platforms.push_back(want);
      break;
    }
  }
  if (found_platforms.empty())
    return fail(Errc::not_found, fmt::format("{} has no manifest for {}", ref.str(),
                                             fmt::format("{}", fmt::join(opt_.platforms, ", "))));
  return out;
}

Result<void> BundleBuilder::add_image(const registry::ImageRef& ref) {
  if (!reg_.find(ref.registry))
    return fail(Errc::invalid_argument,
                fmt::format("{}: registry '{}' is not in registry.upstreams of the config",
                            ref.str(), ref.registry));
  Source src{ref.registry, ref.repo};
  registry::Route route = registry::manifest_route(ref);
  auto top = mirror_.manifest(route);
  if (!top) return fail(top.error().code, fmt::format("{}: {}", ref.str(), top.error().message));
  progress_.note(fmt::format("resolved {} -> {}", ref.str(), top->digest.str()));
  add_blob(top->digest, top->bytes.size(), top->media_type, src);
  std::vector<std::string> found_platforms;
  auto images = platform_manifests(ref, route, *top, src, found_platforms);
  if (!images) return std::unexpected(images.error());
  for (const auto& img : *images) {
    auto info = registry::parse_manifest(img.bytes);
    if (!info) return fail(Errc::upstream_error, ref.str() + ": unreadable manifest");
    for (const auto& desc : info->blobs) add_blob(desc.digest, desc.size, "", src);
  }
  BundleImage img{ref.str(),       ref.registry,    ref.repo, ref.tag, top->digest,
                  top->media_type, found_platforms, {},       {}};
  if (opt_.with_referrers) {
    std::vector<Digest> subjects{top->digest};
    for (const auto& i : *images)
      if (i.digest != top->digest) subjects.push_back(i.digest);
    if (auto r = add_referrers(route, subjects, src, img); !r)
      return fail(r.error().code, fmt::format("{}: referrers: {}", ref.str(), r.error().message));
  }
  bm_.images.push_back(std::move(img));
  index_["manifests"].push_back(
      {{"mediaType", top->media_type},
       {"digest", top->digest.str()},
       {"size", top->bytes.size()},
       {"annotations", {{"org.opencontainers.image.ref.name", ref.str()}}}});
  return {};
}

Result<std::vector<registry::ImageRef>> BundleBuilder::source_images(
    const registry::ImageRef& ref) {
  if (!reg_.find(ref.registry))
    return fail(Errc::invalid_argument,
                fmt::format("{}: registry '{}' is not in registry.upstreams of the config",
                            ref.str(), ref.registry));
  auto src = fetch_source(mirror_, store_, registry::manifest_route(ref));
  if (!src) return fail(src.error().code, fmt::format("{}: {}", ref.str(), src.error().message));
  std::vector<registry::ImageRef> out;
  for (const auto& u : src->images) {
    progress_.note(fmt::format("{} names {} ({})", ref.str(), u.ref.str(), u.where));
    out.push_back(u.ref);
  }
  bm_.source_repo = "oci://" + ref.registry + "/" + ref.repo;
  bm_.source_commit = src->manifest.digest.str();
  return out;
}

Result<registry::ManifestResult> BundleBuilder::by_digest(const registry::Route& route,
                                                          const Digest& d) {
  registry::Route r = route;
  r.kind = registry::Kind::manifest;
  r.tag.clear();
  r.digest = d;
  return mirror_.manifest(r);
}

Result<void> BundleBuilder::take_referrer(const registry::ManifestResult& m, const Digest& subject,
                                          const Source& src, BundleImage& img) {
  // Carried once per bundle (add_blob skips duplicates), listed once per image: the same subject
  // in another repository needs it in that repository's referrers index too.
  for (const auto& have : img.referrers)
    if (have.digest == m.digest && have.subject == subject) return {};
  add_blob(m.digest, m.bytes.size(), m.media_type, src);
  auto info = registry::parse_manifest(m.bytes);
  if (!info) return fail(Errc::upstream_error, "unreadable referrer manifest " + m.digest.str());
  for (const auto& d : info->blobs) add_blob(d.digest, d.size, "", src);
  if (auto r = as_referrer(m.bytes, m.digest, m.media_type, subject)) {
    img.referrers.push_back(std::move(*r));
    ++referrers_;
  }
  return {};
}

Result<void> BundleBuilder::add_referrers(const registry::Route& route,
                                          const std::vector<Digest>& subjects, const Source& src,
                                          BundleImage& img) {
  for (const auto& subject : subjects) {
    registry::Route rr = route;
    rr.kind = registry::Kind::referrers;
    rr.tag.clear();
    rr.digest = subject;
    auto listed = mirror_.referrers(rr);  // not_found: no referrers API upstream
    if (!listed && listed.error().code != Errc::not_found) return std::unexpected(listed.error());
    if (listed) {
      auto info = registry::parse_manifest(*listed);
      if (!info) return fail(Errc::upstream_error, "unreadable referrers index");
      for (const auto& desc : info->manifests) {
        auto m = by_digest(route, desc.digest);
        if (!m) return std::unexpected(m.error());
        if (auto r = take_referrer(*m, subject, src, img); !r) return r;
      }
    }
    for (const auto& tag : referrer_tag_names(subject)) {
      registry::Route tr = route;
      tr.tag = tag;
      tr.digest.reset();
      auto m = mirror_.manifest(tr);
      if (!m && m.error().code == Errc::not_found) continue;
      if (!m) return fail(m.error().code, tag + ": " + m.error().message);
      img.referrer_tags.push_back({tag, m->digest});
      progress_.note(fmt::format("referrer tag {}:{} -> {}", route.repo, tag, m->digest.str()));
      if (auto r = take_referrer(*m, subject, src, img); !r) return r;
      if (!registry::is_index_media_type(m->media_type)) continue;
      auto info = registry::parse_manifest(m->bytes);  // the tag scheme's index of referrers
      if (!info) return fail(Errc::upstream_error, tag + ": unreadable index");
      for (const auto& desc : info->manifests) {
        auto child = by_digest(route, desc.digest);
        if (!child) return std::unexpected(child.error());
        if (auto r = take_referrer(*child, subject, src, img); !r) return r;
      }
    }
  }
  return {};
}

Result<void> BundleBuilder::add_charts() {
  if (opt_.charts.empty()) return {};
  HelmConfig hc = cfg_.helm;
  hc.request_refresh_budget = hc.fetch_timeout;  // charts as the repository lists them now
  helm::HelmCache charts(hc, opt_.cache_dir, store_, db_, client_, metrics_);
  for (const auto& c : opt_.charts) {
    const auto what = fmt::format("chart {}/{}:{}", c.repo, c.name, c.version);
    auto repo = helm::parse_chart_repo(c.repo, cfg_.helm);
    if (!repo) return fail(repo.error().code, fmt::format("{}: {}", what, repo.error().message));
    auto entry = charts.entry(*repo, c.name, c.version);
    if (!entry) return fail(entry.error().code, fmt::format("{}: {}", what, entry.error().message));
    auto d = charts.chart(*repo, helm::chart_path(c.name, c.version).substr(7));
    if (!d) return fail(d.error().code, fmt::format("{}: {}", what, d.error().message));
    auto size = store_.size_of(*d);
    if (!size) return std::unexpected(size.error());
    progress_.note(fmt::format("resolved {} -> {}", what, d->str()));
    add_blob(*d, *size, "", Source{});
    bm_.charts.push_back({repo->key(), c.name, c.version, *d, entry->entry_json});
  }
  charts.stop();
  return {};
}

Result<void> BundleBuilder::download(CreateStats& stats) {
  stats.images = opt_.images.size();
  stats.charts = opt_.charts.size();
  stats.blobs = blobs_.size();
  std::uint64_t to_fetch = 0, fetched = 0;
  for (const auto& b : blobs_)
    if (b.in_bundle && !store_.contains(b.digest)) to_fetch += b.size;
  std::size_t n = 0;
  for (auto& b : blobs_) {
    ++n;
    if (!b.in_bundle || store_.contains(b.digest)) continue;
    const auto& src = sources_.at(b.digest);
    registry::Route route;
    route.kind = registry::Kind::blob;
    route.upstream = src.upstream;
    route.repo = src.repo;
    route.digest = b.digest;
    progress_.note(
        fmt::format("[{}/{}] downloading {} ({} bytes)", n, blobs_.size(), b.digest.str(), b.size));
    auto done = mirror_.ensure_blob(
        route, [&](std::uint64_t written) { progress_.bytes(fetched + written, to_fetch); });
    if (!done)
      return fail(done.error().code, fmt::format("{}: {}", b.digest.str(), done.error().message));
    fetched += b.size;
    progress_.bytes(fetched, to_fetch);
  }
  for (auto& b : blobs_) {  // sizes as stored (descriptors may omit them)
    if (auto s = store_.size_of(b.digest)) b.size = *s;
    if (b.in_bundle) {
      ++stats.blobs_in_bundle;
      stats.bytes_in_bundle += b.size;
    }
  }
  bm_.blobs = blobs_;
  return {};
}

Result<void> BundleBuilder::write() {
  auto part = fs::path(opt_.output.string() + ".part");
  auto tar = TarWriter::open(part);
  if (!tar) return std::unexpected(tar.error());
  const std::string bundle_json = bm_.to_json();
  if (auto r = tar->add(kBundleJson, bundle_json); !r) return std::unexpected(r.error());
  if (opt_.sign_key) {
    auto sig = sign_ed25519(*opt_.sign_key, bundle_json);
    if (!sig) return std::unexpected(sig.error());
    if (auto r = tar->add(kBundleSig, *sig + "\n"); !r) return std::unexpected(r.error());
  }
  if (auto r = tar->add("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"); !r)
    return std::unexpected(r.error());
  if (auto r = tar->add("index.json", index_.dump()); !r) return std::unexpected(r.error());
  for (const auto& b : blobs_) {
    if (!b.in_bundle) continue;
    auto name = "blobs/sha256/" + std::string(b.digest.hex());
    if (auto r = tar->add_file(name, store_.path_for(b.digest)); !r)
      return std::unexpected(r.error());
  }
  if (auto r = tar->finish(); !r) return std::unexpected(r.error());
  std::error_code ec;
  fs::rename(part, opt_.output, ec);
  if (ec) return fail(Errc::io, "writing " + opt_.output.string() + ": " + ec.message());
  return {};
}

}  // namespace

Result<CreateStats> create_bundle(const BundleSettings& cfg, const CreateOptions& opt,
                                  http::HttpClient& client, ProgressSink& progress) {
  if (!valid_release_part(opt.name) || !valid_release_part(opt.version))
    return fail(Errc::invalid_argument,
                "--name and --version must match [A-Za-z0-9][A-Za-z0-9._-]*");
  if (opt.images.empty() && opt.charts.empty() && !opt.from_source)
    return fail(Errc::invalid_argument,
                "no images or charts given (--image / --chart / --images-from / --from)");
  BundleBuilder b(cfg, opt, client, progress);
  if (auto r = b.read_base(); !r) return std::unexpected(r.error());
  std::vector<registry::ImageRef> images = opt.images;
  if (opt.from_source) {
    auto named = b.source_images(*opt.from_source);
    if (!named) return std::unexpected(named.error());
    images.insert(images.end(), named->begin(), named->end());
    images.push_back(*opt.from_source);
    std::sort(images.begin(), images.end());
    images.erase(std::unique(images.begin(), images.end()), images.end());
  }
  for (const auto& ref : images)
    if (auto r = b.add_image(ref); !r) return std::unexpected(r.error());
  if (auto r = b.add_charts(); !r) return std::unexpected(r.error());
  CreateStats stats;
  if (auto r = b.download(stats); !r) return std::unexpected(r.error());
  stats.referrers = b.referrers();
  if (auto r = b.write(); !r) return std::unexpected(r.error());
  return stats;
}

}  // namespace outpost::bundle
