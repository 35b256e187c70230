#include "bundle/oci.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <map>

#include "bundle/artifact.hpp"
#include "bundle/bundle_reader.hpp"
#include "core/metrics.hpp"
#include "http/client.hpp"
#include "registry/mirror.hpp"
#include "registry/route.hpp"
#include "registry/upstream.hpp"

namespace outpost::bundle {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMaxBundleJson = 64 << 20;

// A string member of a JSON object from a registry, "" when absent or of another type.
std::string text_of(const nlohmann::json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return {};
  return o[key].get<std::string>();
}

std::string http_error(const http::ClientResponse& r) {
  std::string body = r.body.substr(0, 300);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty())
    if (auto m = text_of(j["errors"][0], "message"); !m.empty()) body = m;
  return fmt::format("HTTP {}: {}", r.status, body);
}

// Uploads one file as a blob unless the repository has it. Returns whether bytes were sent.
Result<bool> upload_blob(registry::Upstream& up, const std::string& repo, const Digest& d,
                         const fs::path& file) {
  http::ClientRequest head;
  head.method = "HEAD";
  head.url = fmt::format("/v2/{}/blobs/{}", repo, d.str());
  auto h = up.push_call(head, repo);
  if (!h) return std::unexpected(h.error());
  if (h->status == 200) return false;

  http::ClientRequest start;
  start.method = "POST";
  start.url = fmt::format("/v2/{}/blobs/uploads/", repo);
  auto s = up.push_call(start, repo);
  if (!s) return std::unexpected(s.error());
  auto location = s->headers.get("Location");
  if (s->status != 202 || !location)
    return fail(Errc::upstream_error,
                fmt::format("registry refused to start an upload to {}: {}", repo, http_error(*s)));
  http::ClientRequest put;
  put.method = "PUT";
  put.url = std::string(*location);
  put.url += (put.url.find('?') == std::string::npos ? "?digest=" : "&digest=") + d.str();
  put.headers = {{"Content-Type", "application/octet-stream"}};
  put.body_file = file;
  auto p = up.push_call(put, repo);
  if (!p) return std::unexpected(p.error());
  if (p->status != 201)
    return fail(Errc::upstream_error,
                fmt::format("registry refused blob {}: {}", d.str(), http_error(*p)));
  return true;
}

// Stages bytes into `file`, returning their digest.
class Stager {
 public:
  explicit Stager(fs::path file) : file_(std::move(file)) {}
  ~Stager() {
    std::error_code ec;
    fs::remove(file_, ec);
  }
  const fs::path& path() const { return file_; }

  Result<Digest> from_string(std::string_view bytes) {
    std::ofstream out(file_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return fail(Errc::io, "cannot write " + file_.string());
    return sha256_of(bytes);
  }

  // The reader's current entry.
  Result<Digest> from_entry(BundleReader& reader) {
    std::ofstream out(file_, std::ios::binary | std::ios::trunc);
    Sha256 h;
    auto r = reader.read([&](std::span<const char> chunk) -> Result<void> {
      h.update(chunk);
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      return {};
    });
    if (!r) return std::unexpected(r.error());
    if (!out.flush()) return fail(Errc::io, "cannot write " + file_.string());
    return h.finish();
  }

 private:
  fs::path file_;
};

// PUTs the bundle's OCI artifact manifest.
Result<void> put_bundle_manifest(registry::Upstream& up, const registry::ImageRef& dest,
                                 const std::string& bytes) {
  http::ClientRequest put;
  put.method = "PUT";
  put.url = fmt::format("/v2/{}/manifests/{}", dest.repo, dest.tag);
  put.headers = {{"Content-Type", kArtifactManifestType}};
  put.body = bytes;
  auto r = up.push_call(put, dest.repo);
  if (!r) return std::unexpected(r.error());
  if (r->status != 201)
    return fail(Errc::upstream_error,
                fmt::format("registry refused the bundle manifest: {}", http_error(*r)));
  return {};
}

}  // namespace

Result<registry::ImageRef> parse_oci_source(std::string_view source, const RegistryConfig& reg) {
  if (!is_oci_source(source))
    return fail(Errc::invalid_argument, fmt::format("'{}' is not an oci:// reference", source));
  auto text = source.substr(kOciScheme.size());
  auto last = text.substr(text.rfind('/') == std::string_view::npos ? 0 : text.rfind('/'));
  if (last.find(':') == std::string_view::npos && last.find('@') == std::string_view::npos)
    return fail(
        Errc::invalid_argument,
        fmt::format("{}: name the bundle's tag, e.g. oci://registry/bundles/app:v1", source));
  auto ref = registry::parse_image_ref(text);
  if (!ref) return fail(Errc::invalid_argument, fmt::format("{}: {}", source, ref.error().message));
  if (ref->registry != registry::kReleasesNamespace && !reg.find(ref->registry))
    return fail(Errc::invalid_argument,
                fmt::format("{}: registry '{}' is not in registry.upstreams of the config", source,
                            ref->registry));
  return *ref;
}

Result<PushStats> push_bundle(const BundleSettings& cfg, const fs::path& bundle,
                              const registry::ImageRef& dest, const fs::path& scratch,
                              http::HttpClient& client, ProgressSink& progress) {
  const auto* up_cfg = cfg.registry.find(dest.registry);
  if (!up_cfg)
    return fail(Errc::invalid_argument,
                fmt::format("registry '{}' is not in registry.upstreams", dest.registry));
  if (dest.tag.empty()) return fail(Errc::invalid_argument, "push needs a tag: oci://…/repo:tag");
  Metrics metrics;
  std::atomic<bool> stopping{false};
  registry::Upstream up(*up_cfg, cfg.registry, client, metrics, stopping);

  auto reader = BundleReader::open(bundle);
  if (!reader) return std::unexpected(reader.error());
  const BundleHead* head = &reader->head();
  std::error_code ec;
  const auto file_size = fs::file_size(bundle, ec);
  fs::create_directories(scratch, ec);
  Stager stage(scratch / fmt::format("push-{}.part", ::getpid()));

  PushStats st;
  std::vector<ArtifactFile> files;
  auto push = [&](const std::string& path, const Digest& d) -> Result<void> {
    auto size = fs::file_size(stage.path(), ec);
    auto sent = upload_blob(up, dest.repo, d, stage.path());
    if (!sent) return fail(sent.error().code, fmt::format("{}: {}", path, sent.error().message));
    ++st.files;
    if (*sent) {
      ++st.uploaded;
      st.bytes_uploaded += size;
    }
    progress.note(fmt::format("{} {} ({} bytes)", *sent ? "pushed" : "present", path, size));
    files.push_back({path, d, size});
    return {};
  };

  auto d = stage.from_string(head->json);
  if (!d) return std::unexpected(d.error());
  if (auto r = push(kBundleJson, *d); !r) return std::unexpected(r.error());
  for (;;) {
    auto entry = reader->next();
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) break;
    const auto& e = **entry;
    auto got = stage.from_entry(*reader);
    if (!got) return std::unexpected(got.error());
    if (e.digest && *e.digest != *got)
      return fail(Errc::digest_mismatch,
                  fmt::format("bundle blob {} is corrupt (its bytes hash to {})", e.digest->str(),
                              got->str()));
    if (auto r = push(e.path, *got); !r) return std::unexpected(r.error());
    progress.bytes(reader->position(), file_size);
  }

  auto empty = stage.from_string(kEmptyConfig);
  if (!empty) return std::unexpected(empty.error());
  if (auto r = upload_blob(up, dest.repo, *empty, stage.path()); !r)
    return std::unexpected(r.error());
  const std::string bytes = artifact_manifest(head->manifest, files);
  if (auto r = put_bundle_manifest(up, dest, bytes); !r) return std::unexpected(r.error());
  progress.bytes(file_size, file_size);
  st.manifest = sha256_of(bytes).str();
  return st;
}

namespace {

// The artifact a release came in as: its manifest, every layer (the small ones the import did not
// need are fetched now), its tag and its releases_tag, pinned with the release so this Outpost
// re-serves it.
template <class RouteFor>
Result<ExtraPins> artifact_pins(registry::Mirror& mirror, BlobStore& store,
                                const BundleManifest& bm, const nlohmann::json& manifest,
                                const registry::ManifestResult& top,
                                const registry::ImageRef& source, const RouteFor& route_for) {
  ExtraPins pins;
  pins.blobs.push_back({top.digest, top.bytes.size(), top.media_type});
  std::vector<nlohmann::json> descriptors(manifest["layers"].begin(), manifest["layers"].end());
  if (manifest.contains("config")) descriptors.push_back(manifest["config"]);
  for (const auto& l : descriptors) {
    if (!l.is_object()) return fail(Errc::invalid_argument, "a descriptor that is not an object");
    auto d = Digest::parse(text_of(l, "digest"));
    if (!d || !l.contains("size") || !l["size"].is_number_unsigned())
      return fail(Errc::invalid_argument, "a layer without a digest and size");
    if (!store.contains(*d))
      if (auto r = mirror.ensure_blob(route_for(*d)); !r) return std::unexpected(r.error());
    pins.blobs.push_back({*d, l["size"].get<std::uint64_t>(), ""});
  }
  if (!source.tag.empty())
    pins.tags.push_back({source.registry, source.repo, source.tag, top.digest});
  if (auto tag = releases_tag(bm, top.digest)) pins.tags.push_back(*tag);
  return pins;
}

// Takes every blob of the release the store lacks from the bundle's repository (verified as it
// is written), counting into `st`.
template <class RouteFor>
Result<void> fetch_blobs(registry::Mirror& mirror, BlobStore& store, const BundleManifest& bm,
                         const RouteFor& blob_route, const std::string& where,
                         ProgressSink& progress, ImportStats& st) {
  std::uint64_t total = 0, done = 0;
  for (const auto& b : bm.blobs)
    if (!store.contains(b.digest)) total += b.size;
  for (const auto& b : bm.blobs) {
    if (store.contains(b.digest)) {
      ++st.deduplicated;
      continue;
    }
    if (!b.in_bundle)
      return fail(Errc::not_found,
                  fmt::format("blob {} should come from release {} {} but is not in the store",
                              b.digest.str(), bm.name, bm.base_version.value_or("?")));
    auto r = mirror.ensure_blob(blob_route(b.digest), [&](std::uint64_t written) {
      progress.bytes(done + written, total);
    });
    if (!r)
      return fail(r.error().code,
                  fmt::format("{}: blob {}: {}", where, b.digest.str(), r.error().message));
    ++st.received;
    st.bytes_received += b.size;
    done += b.size;
    progress.bytes(done, total);
    progress.note(fmt::format("verified {} ({} bytes)", b.digest.str(), b.size));
  }
  return {};
}

}  // namespace

Result<ImportStats> import_bundle_oci(registry::Mirror& mirror, const registry::ImageRef& source,
                                      BlobStore& store, MetaDb& db, const ImportPolicy& policy,
                                      ProgressSink& progress) {
  const std::string where = "oci://" + source.str();
  auto top = mirror.manifest(registry::manifest_route(source));
  if (!top) return fail(top.error().code, fmt::format("{}: {}", where, top.error().message));
  auto m = nlohmann::json::parse(top->bytes, nullptr, false);
  if (m.is_discarded() || !m.is_object() || text_of(m, "artifactType") != kBundleArtifactType ||
      !m.contains("layers") || !m["layers"].is_array())
    return fail(Errc::invalid_argument,
                fmt::format("{} is not an Outpost bundle (artifactType is not {})", where,
                            kBundleArtifactType));
  auto blob_route = [&](const Digest& d) {
    registry::Route r;
    r.kind = registry::Kind::blob;
    r.upstream = source.registry;
    r.repo = source.repo;
    r.digest = d;
    return r;
  };
  auto small_layer = [&](const std::string& title) -> Result<std::optional<std::string>> {
    for (const auto& l : m["layers"]) {
      if (!l.is_object() || !l.contains("annotations") ||
          text_of(l["annotations"], kTitleAnnotation) != title)
        continue;
      auto d = Digest::parse(text_of(l, "digest"));
      if (!d) return fail(Errc::invalid_argument, where + ": a layer with a bad digest");
      if (auto r = mirror.ensure_blob(blob_route(*d)); !r)
        return fail(r.error().code, fmt::format("{}: {}: {}", where, title, r.error().message));
      auto bytes = store.read_all(*d, kMaxBundleJson);
      if (!bytes) return std::unexpected(bytes.error());
      return std::optional<std::string>(std::move(*bytes));
    }
    return std::optional<std::string>();
  };
  auto json = small_layer(kBundleJson);
  if (!json) return std::unexpected(json.error());
  if (!*json) return fail(Errc::invalid_argument, where + " has no outpost-bundle.json layer");
  auto sig = small_layer(kBundleSig);
  if (!sig) return std::unexpected(sig.error());
  if (auto ok = check_signature(**json, *sig, policy.trust_keys); !ok)
    return std::unexpected(ok.error());
  auto bm = BundleManifest::parse(**json);
  if (!bm) return fail(Errc::invalid_argument, where + ": " + bm.error().message);
  if (auto base = check_base_release(*bm, db); !base) return std::unexpected(base.error());

  ImportStats st;
  st.name = bm->name;
  st.version = bm->version;
  st.blobs = bm->blobs.size();
  if (auto ok = fetch_blobs(mirror, store, *bm, blob_route, where, progress, st); !ok)
    return std::unexpected(ok.error());
  auto artifact = artifact_pins(mirror, store, *bm, m, *top, source, blob_route);
  if (!artifact) return fail(artifact.error().code, where + ": " + artifact.error().message);
  auto dropped = record_release(*bm, db, policy.keep_releases, *artifact);
  if (!dropped) return std::unexpected(dropped.error());
  st.dropped_releases = *dropped;
  return st;
}

}  // namespace outpost::bundle
