#include "bundle/import.hpp"

#include "bundle/tar_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "core/signing.hpp"

namespace outpost::bundle {
namespace {

Result<ImportStats> import_archive(archive* a, std::uint64_t file_size, BlobStore& store,
                                   MetaDb& db, const ImportPolicy& policy, ProgressSink& progress) {
  auto head = read_bundle_head(a);
  if (!head) return std::unexpected(head.error());
  auto* bm = &head->manifest;
  const std::string* json = &head->json;
  archive_entry* e = nullptr;
  int rc = ARCHIVE_OK;

  ImportStats st;
  st.name = bm->name;
  st.version = bm->version;
  st.blobs = bm->blobs.size();
  if (auto base = check_base_release(*bm, db); !base) return std::unexpected(base.error());
  std::map<Digest, const BundleBlob*> expected;
  for (const auto& b : bm->blobs) expected.emplace(b.digest, &b);

  std::vector<BlobWriter> staged;  // verified, published only when the whole bundle checks out
  std::optional<std::string> signature;
  std::set<Digest> seen;
  std::vector<char> buf(1 << 20);
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (archive_entry_filetype(e) != AE_IFREG)
      return fail(Errc::invalid_argument,
                  fmt::format("bundle entry '{}' is not a regular file", name));
    if (name == kBundleSig) {
      auto sig = read_entry(a, 4096);
      if (!sig) return std::unexpected(sig.error());
      signature = *sig;
      continue;
    }
    if (name == "oci-layout" || name == "index.json") {
      if (auto r = read_entry(a, 64 << 20); !r) return std::unexpected(r.error());
      continue;
    }
    constexpr std::string_view prefix = "blobs/sha256/";
    auto d = name.starts_with(prefix) ? Digest::parse("sha256:" + name.substr(prefix.size()))
                                      : Result<Digest>(fail(Errc::invalid_argument, ""));
    if (!d)
      return fail(
          Errc::invalid_argument,
          fmt::format("unexpected bundle entry '{}' (only outpost-bundle.json and an OCI layout)",
                      name));
    auto it = expected.find(*d);
    if (it == expected.end() || !it->second->in_bundle)
      return fail(
          Errc::invalid_argument,
          fmt::format("bundle carries {} which its outpost-bundle.json does not list", d->str()));
    if (!seen.insert(*d).second)
      return fail(Errc::invalid_argument, "bundle carries " + d->str() + " twice");
    if (store.contains(*d)) {
      ++st.deduplicated;
      archive_read_data_skip(a);
      continue;
    }
    auto w = store.create_temp();
    if (!w) return std::unexpected(w.error());
    for (;;) {
      auto n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0)
        return fail(Errc::invalid_argument,
                    std::string("corrupt or truncated bundle: ") + archive_error_string(a));
      if (n == 0) break;
      if (auto r = w->write(std::span<const char>(buf.data(), static_cast<std::size_t>(n))); !r)
        return std::unexpected(r.error());
    }
    if (auto s = w->seal(*d); !s)
      return fail(Errc::digest_mismatch,
                  fmt::format("bundle blob {} is corrupt: {}", d->str(), s.error().message));
    ++st.received;
    st.bytes_received += w->size();
    progress.note(fmt::format("verified {} ({} bytes)", d->str(), w->size()));
    progress.bytes(static_cast<std::uint64_t>(archive_filter_bytes(a, -1)), file_size);
    staged.push_back(std::move(*w));
  }
  if (rc != ARCHIVE_EOF)
    return fail(Errc::invalid_argument,
                std::string("corrupt or truncated bundle: ") + archive_error_string(a));

  if (auto sig = check_signature(*json, signature, policy.trust_keys); !sig)
    return std::unexpected(sig.error());
  for (const auto& b : bm->blobs) {
    if (b.in_bundle && !seen.contains(b.digest) && !store.contains(b.digest))
      return fail(Errc::invalid_argument, "bundle is missing blob " + b.digest.str());
    if (!b.in_bundle && !store.contains(b.digest))
      return fail(Errc::not_found,
                  fmt::format("blob {} should come from release {} {} but is not in the store",
                              b.digest.str(), bm->name, bm->base_version.value_or("?")));
  }
  for (auto& w : staged)
    if (auto p = w.publish(); !p) return std::unexpected(p.error());
  progress.bytes(file_size, file_size);
  auto dropped = record_release(*bm, db, policy.keep_releases);
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
    return fail(Errc::unauthorized,
                "bundle is not signed and bundle.trust_keys requires a signature");
  if (!verify_ed25519(trust_keys, json, *signature))
    return fail(Errc::unauthorized, "bundle signature does not verify against bundle.trust_keys");
  return {};
}

Result<std::vector<std::string>> record_release(const BundleManifest& bm, MetaDb& db,
                                                int keep_releases) {
  MetaDb::ReleaseRecord rec;
  rec.name = bm.name;
  rec.version = bm.version;
  rec.base_version = bm.base_version;
  for (const auto& b : bm.blobs) rec.blobs.push_back({b.digest, b.size, b.media_type});
  for (const auto& i : bm.images)
    if (!i.tag.empty()) rec.tags.push_back({i.registry, i.repo, i.tag, i.digest});
  for (const auto& c : bm.charts)
    rec.charts.push_back({c.repo, c.name, c.version, c.digest, c.entry_json});
  if (auto r = db.record_release(rec); !r) return std::unexpected(r.error());
  auto dropped = db.apply_retention(bm.name, keep_releases);
  if (!dropped) return std::vector<std::string>{};
  return *dropped;
}

Result<ImportStats> import_bundle_file(const std::filesystem::path& bundle, BlobStore& store,
                                       MetaDb& db, const ImportPolicy& policy,
                                       ProgressSink& progress) {
  auto tar = open_tar(bundle);
  if (!tar) return std::unexpected(tar.error());
  std::error_code ec;
  auto size = std::filesystem::file_size(bundle, ec);
  return import_archive(tar->get(), ec ? 0 : size, store, db, policy, progress);
}

}  // namespace outpost::bundle
