#pragma once
// The metadata hub replicas share (metadata.postgres): the seam between MetaDb, which keeps its
// SQLite file as each replica's local read copy, and the database every replica writes to.
// store/pg_meta.hpp is the implementation; the unit tests fake it.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "store/meta_records.hpp"

namespace outpost {

class SharedMeta {
 public:
  virtual ~SharedMeta() = default;
  virtual std::string where() const = 0;  // for logs and status, without credentials

  // `children`: the manifests and blobs it names (what the shared GC follows from it).
  virtual Result<void> put_manifest(const Digest& d, const std::string& media_type,
                                    std::uint64_t size, const std::vector<Digest>& children) = 0;
  virtual Result<std::optional<ManifestRecord>> manifest(const Digest& d) = 0;

  // A tag's row as MetaDb keeps it: `name` is the tag, or `<tag>#<types>` for the form resolved
  // for one Accept set.
  struct TagRow {
    std::string name;
    TagRecord rec;
  };
  // Also forgets the tag as deleted upstream.
  virtual Result<void> put_tag(const std::string& upstream, const std::string& repo,
                               const std::string& name, const Digest& d,
                               UnixSeconds checked_at) = 0;
  // Every row of a tag: its own and its per-Accept forms.
  virtual Result<std::vector<TagRow>> tag_rows(const std::string& upstream, const std::string& repo,
                                               const std::string& tag) = 0;
  virtual Result<void> forget_tag(const std::string& upstream, const std::string& repo,
                                  const std::string& tag) = 0;
  virtual Result<void> note_deleted_tag(const std::string& upstream, const std::string& repo,
                                        const std::string& tag, const Digest& d,
                                        UnixSeconds at) = 0;

  virtual Result<void> put_tag_list(const std::string& upstream, const std::string& repo,
                                    const std::vector<std::string>& tags,
                                    UnixSeconds fetched_at) = 0;
  virtual Result<std::optional<UnixSeconds>> tag_list_fetched_at(const std::string& upstream,
                                                                 const std::string& repo) = 0;
  virtual Result<std::vector<std::string>> tag_list(const std::string& upstream,
                                                    const std::string& repo) = 0;

  virtual Result<void> put_referrers(const std::string& upstream, const std::string& repo,
                                     const Digest& subject, const std::string& index) = 0;
  virtual Result<std::optional<std::string>> referrers(const std::string& upstream,
                                                       const std::string& repo,
                                                       const Digest& subject) = 0;

  // The blob record: a blob of this size is in the bucket (fsck and GC count from these).
  virtual Result<void> put_blob(const Digest& d, std::uint64_t size) = 0;

  virtual Result<void> put_helm_chart(const std::string& url, const Digest& d) = 0;
  virtual Result<std::optional<Digest>> helm_chart(const std::string& url) = 0;

  struct ReleaseKey {
    std::string name, version;
    auto operator<=>(const ReleaseKey&) const = default;
  };
  // Replaces a release of the same name and version, in one transaction.
  virtual Result<void> record_release(const ReleaseRecord& r) = 0;
  virtual Result<std::vector<ReleaseKey>> release_keys() = 0;
  virtual Result<std::optional<ReleaseRecord>> release(const ReleaseKey& key) = 0;
  virtual Result<void> drop_release(const ReleaseKey& key) = 0;
};

}  // namespace outpost
