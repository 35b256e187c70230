#pragma once
// SharedMeta on PostgreSQL (metadata.postgres): the tables hub replicas share, created and
// upgraded by versioned migrations at start (pg/migrate.hpp), under an advisory lock.
#include <map>
#include <memory>

#include "pg/pool.hpp"
#include "store/bucket_gc_ledger.hpp"
#include "store/bucket_ledger.hpp"
#include "store/shared_meta.hpp"

namespace outpost {

// A PostgreSQL array literal of text ({"a","b"}), for one parameter that carries a whole list.
std::string text_array(const std::vector<std::string>& v);

class PgMeta final : public SharedMeta, public BucketLedger, public BucketGcLedger {
 public:
  explicit PgMeta(pg::Pool& pool) : pool_(pool) {}

  // Brings the schema to this version. Fails when the database is unreachable, refuses the
  // login, or holds a newer schema.
  Result<void> migrate();

  std::string where() const override { return pool_.where(); }
  Result<void> put_manifest(const Digest& d, const std::string& media_type, std::uint64_t size,
                            const std::vector<Digest>& children) override;
  Result<std::optional<ManifestRecord>> manifest(const Digest& d) override;
  Result<void> put_tag(const std::string& upstream, const std::string& repo,
                       const std::string& name, const Digest& d, UnixSeconds checked_at) override;
  Result<std::vector<TagRow>> tag_rows(const std::string& upstream, const std::string& repo,
                                       const std::string& tag) override;
  Result<void> forget_tag(const std::string& upstream, const std::string& repo,
                          const std::string& tag) override;
  Result<void> note_deleted_tag(const std::string& upstream, const std::string& repo,
                                const std::string& tag, const Digest& d, UnixSeconds at) override;
  Result<void> put_tag_list(const std::string& upstream, const std::string& repo,
                            const std::vector<std::string>& tags, UnixSeconds fetched_at) override;
  Result<std::optional<UnixSeconds>> tag_list_fetched_at(const std::string& upstream,
                                                         const std::string& repo) override;
  Result<std::vector<std::string>> tag_list(const std::string& upstream,
                                            const std::string& repo) override;
  Result<void> put_referrers(const std::string& upstream, const std::string& repo,
                             const Digest& subject, const std::string& index) override;
  Result<std::optional<std::string>> referrers(const std::string& upstream, const std::string& repo,
                                               const Digest& subject) override;
  Result<void> put_blob(const Digest& d, std::uint64_t size) override;
  Result<void> put_helm_chart(const std::string& url, const Digest& d) override;
  Result<std::optional<Digest>> helm_chart(const std::string& url) override;
  Result<void> record_release(const ReleaseRecord& r) override;
  Result<std::vector<ReleaseKey>> release_keys() override;
  Result<std::optional<ReleaseRecord>> release(const ReleaseKey& key) override;
  Result<void> drop_release(const ReleaseKey& key) override;

  Result<Answer> claim(const Digest& d) override;
  // Records `d` as stored (storage migrate; an upload records through its claim).
  Result<void> stored(const Digest& d, std::uint64_t size);

  Result<std::unique_ptr<Lease>> lead() override;
  Result<Swept> sweep(UnixSeconds now, UnixSeconds cutoff, std::size_t limit,
                      bool dry_run) override;
  Result<Unknown> unknown(
      const std::vector<std::pair<std::string, std::uint64_t>>& listed) override;
  Result<std::string> sweep_cursor() override;
  Result<void> set_sweep_cursor(const std::string& after) override;

  // fsck: the objects recorded as stored (hex -> size), and how many claims never finished.
  struct StoredObjects {
    std::map<std::string, std::uint64_t> stored;
    std::uint64_t unfinished = 0;
  };
  Result<StoredObjects> stored_objects();

 private:
  pg::Pool& pool_;
};

}  // namespace outpost
