#include "store/fsck.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <set>

namespace outpost {
namespace {

std::optional<Digest> hash_file(const std::filesystem::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  Sha256 h;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    h.update(std::span(buf.data(), static_cast<std::size_t>(n)));
  }
  return h.finish();
}

}  // namespace

FsckReport run_fsck(BlobStore& store, MetaDb& db,
                    const std::map<std::string, std::uint64_t>* elsewhere) {
  FsckReport rep;
  rep.tmp_removed = store.sweep_tmp();
  auto ok = db.integrity_ok();
  rep.db_ok = ok && *ok;

  std::vector<Digest> bad;
  std::set<Digest> present;
  store.for_each(
      [&](const std::optional<Digest>& d, const std::filesystem::path& p, std::uint64_t size) {
        if (!d) {
          rep.stray.push_back(p.string());
          return;
        }
        ++rep.blobs_checked;
        rep.bytes_checked += size;
        auto actual = hash_file(p);
        if (!actual || *actual != *d) {
          bad.push_back(*d);
        } else {
          present.insert(*d);
        }
      });
  for (const auto& d : bad) {
    if (store.quarantine(d)) rep.corrupt.push_back(d.str());
    (void)db.remove_blob(d);
    (void)db.remove_manifest(d);
  }

  std::set<Digest> recorded;
  if (auto rows = db.blobs()) {
    for (const auto& row : *rows) {
      recorded.insert(row.digest);
      if (!present.contains(row.digest) &&
          !(elsewhere && elsewhere->contains(std::string(row.digest.hex()))) &&
          std::find(bad.begin(), bad.end(), row.digest) == bad.end()) {
        (void)db.remove_blob(row.digest);
        ++rep.missing_rows_dropped;
      }
    }
  } else {
    rep.db_ok = false;
  }
  if (auto manifests = db.manifest_digests()) {
    for (const auto& d : *manifests) {
      if (!present.contains(d) && !(elsewhere && elsewhere->contains(std::string(d.hex()))) &&
          std::find(bad.begin(), bad.end(), d) == bad.end()) {
        (void)db.remove_manifest(d);
        ++rep.missing_rows_dropped;
      }
    }
  }
  for (const auto& d : present) {
    if (!recorded.contains(d)) {
      if (auto size = store.size_of(d)) (void)db.put_blob(d, *size);
      ++rep.unrecorded_registered;
    }
  }
  return rep;
}

}  // namespace outpost
