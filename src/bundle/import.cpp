#include "bundle/import.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <tuple>

#include "bundle/artifact.hpp"
#include "bundle/bundle_reader.hpp"
#include "bundle/referrers.hpp"
#include "core/signing.hpp"

namespace outpost::bundle {
namespace {

// What a pass over the tar collects besides the staged blobs.
struct TarContents {
  std::optional<std::string> signature;
  std::set<Digest> seen;            // blobs carried
  std::vector<ArtifactFile> files;  // every file in tar order, for the artifact
  std::vector<std::string> small;   // bytes of the files that are not blobs
};

// Every blob the bundle carries, verified against the digest its name claims, staged; nothing is
// published here.
Result<std::vector<BlobWriter>> stage_blobs(BundleReader& reader, BlobStore& store,
                                            std::uint64_t file_size, ImportStats& st,
                                            TarContents& tar, ProgressSink& progress) {
  std::map<Digest, const BundleBlob*> expected;
  for (const auto& b : reader.head().manifest.blobs) expected.emplace(b.digest, &b);
  std::vector<BlobWriter> staged;
  auto keep_small = [&](const std::string& path, std::string bytes) {
    tar.files.push_back({path, sha256_of(bytes), bytes.size()});
    tar.small.push_back(std::move(bytes));
  };
  keep_small(kBundleJson, reader.head().json);
  for (;;) {
    auto entry = reader.next();
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) return staged;
    const auto& e = **entry;
    if (e.kind == BundleReader::EntryKind::signature) {
      auto sig = reader.read_all(4096);
      if (!sig) return std::unexpected(sig.error());
      tar.signature = *sig;
      keep_small(e.path, *sig);
      continue;
    }
    if (e.kind != BundleReader::EntryKind::blob) {  // oci-layout, index.json: for other tools
      auto r = reader.read_all(64 << 20);
      if (!r) return std::unexpected(r.error());
      keep_small(e.path, *r);
      continue;
    }
    const Digest& d = *e.digest;
    auto it = expected.find(d);
    if (it == expected.end() || !it->second->in_bundle)
      return fail(
          Errc::invalid_argument,
          fmt::format("bundle carries {} which its outpost-bundle.json does not list", d.str()));
    if (!tar.seen.insert(d).second)
      return fail(Errc::invalid_argument, "bundle carries " + d.str() + " twice");
    tar.files.push_back({e.path, d, it->second->size});
    if (store.contains(d)) {
      ++st.deduplicated;
      reader.skip();
      continue;
    }
    auto w = store.create_temp();
    if (!w) return std::unexpected(w.error());
    if (auto r = reader.read([&](std::span<const char> chunk) { return w->write(chunk); }); !r)
      return std::unexpected(r.error());
    if (auto sealed = w->seal(d); !sealed)
      return fail(Errc::digest_mismatch,
                  fmt::format("bundle blob {} is corrupt: {}", d.str(), sealed.error().message));
    ++st.received;
    st.bytes_received += w->size();
    progress.note(fmt::format("verified {} ({} bytes)", d.str(), w->size()));
    progress.bytes(reader.position(), file_size);
    staged.push_back(std::move(*w));
  }
}

// Every blob the manifest lists is carried or (a delta) already held.
Result<void> check_complete(const BundleManifest& bm, const std::set<Digest>& seen,
                            BlobStore& store) {
  for (const auto& b : bm.blobs) {
    if (b.in_bundle && !seen.contains(b.digest) && !store.contains(b.digest))
      return fail(Errc::invalid_argument, "bundle is missing blob " + b.digest.str());
    if (!b.in_bundle && !store.contains(b.digest))
      return fail(Errc::not_found,
                  fmt::format("blob {} should come from release {} {} but is not in the store",
                              b.digest.str(), bm.name, bm.base_version.value_or("?")));
  }
  return {};
}

Result<ImportStats> import_archive(BundleReader& reader, std::uint64_t file_size, BlobStore& store,
                                   MetaDb& db, const ImportPolicy& policy, ProgressSink& progress) {
  const BundleManifest& bm = reader.head().manifest;
  ImportStats st;
  st.name = bm.name;
  st.version = bm.version;
  st.blobs = bm.blobs.size();
  if (auto base = check_base_release(bm, db); !base) return std::unexpected(base.error());
  TarContents tar;
  // Verified, published only when the whole bundle checks out.
  auto staged = stage_blobs(reader, store, file_size, st, tar, progress);
  if (!staged) return std::unexpected(staged.error());
  if (auto sig = check_signature(reader.head().json, tar.signature, policy.trust_keys); !sig)
    return std::unexpected(sig.error());
  if (auto c = check_complete(bm, tar.seen, store); !c) return std::unexpected(c.error());
  for (auto& w : *staged)
    if (auto p = w.publish(); !p) return std::unexpected(p.error());
  // The release's OCI artifact, kept so this Outpost re-serves it (outpost.releases/<name>).
  const std::string manifest = artifact_manifest(bm, tar.files);
  tar.small.push_back(std::string(kEmptyConfig));
  tar.small.push_back(manifest);
  for (const auto& bytes : tar.small)
    if (auto p = store.put(bytes, sha256_of(bytes)); !p) return std::unexpected(p.error());
  progress.bytes(file_size, file_size);
  auto dropped =
      record_release(bm, db, policy.keep_releases, artifact_release_pins(bm, manifest, tar.files));
  if (!dropped) return std::unexpected(dropped.error());
  st.dropped_releases = *dropped;
  return st;
}

}  // namespace

Result<void> check_base_release(const BundleManifest& bm, MetaDb& db) {
  if (!bm.base_version) return {};
  auto has = db.has_release(bm.name, *bm.base_version);
  if (!has) return std::unexpected(has.error());
  if (*has) return {};
  return fail(
      Errc::not_found,
      fmt::format("{} {} is a delta on release {} {}, which is not here: import {} {} first",
                  bm.name, bm.version, bm.name, *bm.base_version, bm.name, *bm.base_version));
}

Result<void> check_signature(std::string_view json, const std::optional<std::string>& signature,
                             const std::vector<std::string>& trust_keys) {
  if (trust_keys.empty()) return {};
  if (!signature)
    return fail(Errc::forbidden, "bundle is not signed and bundle.trust_keys requires a signature");
  if (!verify_ed25519(trust_keys, json, *signature))
    return fail(Errc::forbidden, "bundle signature does not verify against bundle.trust_keys");
  return {};
}

// The release's referrers join the referrers index kept per subject, which the registry serves
// when upstream cannot answer (docs/architecture.md).
static Result<void> record_referrers(const BundleManifest& bm, MetaDb& db) {
  std::map<std::tuple<std::string, std::string, Digest>, std::vector<BundleReferrer>> by_subject;
  for (const auto& i : bm.images)
    for (const auto& r : i.referrers) by_subject[{i.registry, i.repo, r.subject}].push_back(r);
  for (const auto& [key, add] : by_subject) {
    const auto& [upstream, repo, subject] = key;
    auto kept = db.referrers(upstream, repo, subject);
    if (!kept) return std::unexpected(kept.error());
    auto merged = merge_referrers_index(*kept ? **kept : std::string(), add);
    if (auto r = db.put_referrers(upstream, repo, subject, merged); !r) return r;
  }
  return {};
}

Result<std::vector<std::string>> record_release(const BundleManifest& bm, MetaDb& db,
                                                int keep_releases, const ExtraPins& extra) {
  MetaDb::ReleaseRecord rec;
  rec.name = bm.name;
  rec.version = bm.version;
  rec.base_version = bm.base_version;
  for (const auto& b : bm.blobs) rec.blobs.push_back({b.digest, b.size, b.media_type});
  for (const auto& i : bm.images) {
    if (!i.tag.empty()) rec.tags.push_back({i.registry, i.repo, i.tag, i.digest});
    for (const auto& t : i.referrer_tags) rec.tags.push_back({i.registry, i.repo, t.tag, t.digest});
  }
  for (const auto& c : bm.charts)
    rec.charts.push_back({c.repo, c.name, c.version, c.digest, c.entry_json});
  rec.blobs.insert(rec.blobs.end(), extra.blobs.begin(), extra.blobs.end());
  rec.tags.insert(rec.tags.end(), extra.tags.begin(), extra.tags.end());
  if (auto r = db.record_release(rec); !r) return std::unexpected(r.error());
  if (auto r = record_referrers(bm, db); !r) return std::unexpected(r.error());
  auto dropped = db.apply_retention(bm.name, keep_releases);
  if (!dropped) return std::vector<std::string>{};
  return *dropped;
}

Result<ImportStats> import_bundle_file(const std::filesystem::path& bundle, BlobStore& store,
                                       MetaDb& db, const ImportPolicy& policy,
                                       ProgressSink& progress) {
  auto reader = BundleReader::open(bundle);
  if (!reader) return std::unexpected(reader.error());
  std::error_code ec;
  auto size = std::filesystem::file_size(bundle, ec);
  return import_archive(*reader, ec ? 0 : size, store, db, policy, progress);
}

}  // namespace outpost::bundle
