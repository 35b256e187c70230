#include "tier/bucket_check.hpp"

#include <fmt/format.h>

#include "store/atomic_file.hpp"
#include "tier/object_tier.hpp"

namespace outpost::tier {

Result<std::map<std::string, std::uint64_t>> list_blobs(s3::Client& s3) {
  std::map<std::string, std::uint64_t> out;
  std::string token;
  do {
    auto page = s3.list("blobs/sha256/", token);
    if (!page) return std::unexpected(page.error());
    for (const auto& o : page->objects) {
      auto hex = o.key.substr(o.key.rfind('/') + 1);
      if (Digest::parse("sha256:" + hex)) out[hex] = o.size;
    }
    token = page->next_token;
  } while (!token.empty());
  return out;
}

BucketReport compare_with_bucket(const std::map<std::string, std::uint64_t>& listed, MetaDb& db,
                                 BlobStore& store, const std::filesystem::path& queue_dir) {
  BucketReport rep;
  for (const auto& [hex, size] : listed) {
    ++rep.objects;
    rep.bytes += size;
  }
  std::map<std::string, std::uint64_t> recorded;
  if (auto rows = db.blobs())
    for (const auto& r : *rows) recorded[std::string(r.digest.hex())] = r.size;
  for (const auto& [hex, size] : recorded) {
    const auto d = Digest::from_hex(hex);
    std::error_code ec;
    const bool queued = std::filesystem::exists(queue_dir / hex, ec);
    auto it = listed.find(hex);
    if (it != listed.end() && it->second != size) {
      rep.wrong_size.push_back(
          fmt::format("{}: record {} bytes, object {} bytes", hex, size, it->second));
    } else if (it == listed.end() && store.contains(d)) {
      if (queued) {
        ++rep.waiting;
      } else if (write_file_atomically(queue_dir / hex, "")) {
        ++rep.requeued;
      }
    }
  }
  for (const auto& [hex, size] : listed)
    if (!recorded.contains(hex)) rep.orphans.push_back(hex);
  return rep;
}

Result<std::uint64_t> upload_missing(
    s3::Client& s3, BlobStore& store, const std::map<std::string, std::uint64_t>& listed,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  std::vector<std::pair<Digest, std::uint64_t>> todo;
  store.for_each(
      [&](const std::optional<Digest>& d, const std::filesystem::path&, std::uint64_t size) {
        if (!d) return;
        auto it = listed.find(std::string(d->hex()));
        if (it == listed.end() || it->second != size) todo.emplace_back(*d, size);
      });
  std::uint64_t total = 0, done = 0, n = 0;
  for (const auto& [d, size] : todo) total += size;
  for (const auto& [d, size] : todo) {
    auto put = s3.put_file(ObjectTier::key_of(d), store.path_for(d), size, d.hex());
    if (!put) return std::unexpected(put.error());
    done += size;
    ++n;
    if (progress) progress(done, total);
  }
  return n;
}

}  // namespace outpost::tier
