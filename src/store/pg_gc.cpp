// PgMeta as the shared GC's ledger: reachability from the roots, the unreferenced mark with its
// grace period, the leader's advisory lock and the orphan sweep's cursor.
#include "store/pg_meta.hpp"

namespace outpost {

namespace {

// pg_advisory_lock's key of the GC leader ("outpostg" in ASCII).
constexpr std::int64_t kGcLock = 0x6f7574706f737467;

// Every digest a root reaches: the tag rows, the retained releases' pins and tags, and, through
// manifest_refs, what their manifests name (UNION: each once, so a cycle ends).
constexpr const char* kLive = R"sql(
WITH RECURSIVE live(d) AS (
  SELECT digest FROM tags
  UNION SELECT digest FROM release_blobs
  UNION SELECT digest FROM release_tags
  UNION SELECT r.child FROM manifest_refs r JOIN live l ON r.manifest = l.d
))sql";

class PgLease final : public BucketGcLedger::Lease {
 public:
  explicit PgLease(pg::Session s) : s_(std::move(s)) {}
  ~PgLease() override { (void)s_.query("SELECT pg_advisory_unlock($1)", kGcLock); }

 private:
  pg::Session s_;
};

Result<BucketGcLedger::Swept> mark(pg::Session& tx, UnixSeconds now) {
  BucketGcLedger::Swept out;
  auto r = tx.query(std::string(kLive) + R"sql(,
cleared AS (UPDATE bucket_objects SET unreferenced_since = NULL
            WHERE unreferenced_since IS NOT NULL AND digest IN (SELECT d FROM live) RETURNING 1),
marked AS (UPDATE bucket_objects SET unreferenced_since = $1
           WHERE unreferenced_since IS NULL AND stored_at IS NOT NULL
             AND digest NOT IN (SELECT d FROM live) RETURNING 1)
SELECT (SELECT count(*) FROM cleared), (SELECT count(*) FROM marked),
       (SELECT count(*) FROM bucket_objects WHERE digest IN (SELECT d FROM live)))sql",
                    now);
  if (!r) return std::unexpected(r.error());
  out.referenced_again = static_cast<std::uint64_t>(r->integer(0, 0));
  out.newly_unreferenced = static_cast<std::uint64_t>(r->integer(0, 1));
  out.live = static_cast<std::uint64_t>(r->integer(0, 2));
  return out;
}

}  // namespace

Result<std::unique_ptr<BucketGcLedger::Lease>> PgMeta::lead() {
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  auto got = s->query("SELECT pg_try_advisory_lock($1)", kGcLock);
  if (!got) return std::unexpected(got.error());
  if (got->text(0, 0) != "t") return std::unique_ptr<Lease>();
  return std::unique_ptr<Lease>(std::make_unique<PgLease>(std::move(*s)));
}

Result<BucketGcLedger::Swept> PgMeta::sweep(UnixSeconds now, UnixSeconds cutoff, std::size_t limit,
                                            bool dry_run) {
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  Swept out;
  auto done = s->transaction([&](pg::Session& tx) -> Result<void> {
    auto m = mark(tx, now);
    if (!m) return std::unexpected(m.error());
    out = *m;
    // The records go first, in the transaction that checked them: an object is deleted from the
    // bucket only after no record names it (an interrupted run leaves orphans, never a record
    // without its object).
    const char* pick =
        "SELECT digest, size FROM bucket_objects WHERE unreferenced_since <= $1 "
        "ORDER BY digest LIMIT $2";
    const char* forget = R"sql(
WITH gone AS (DELETE FROM bucket_objects WHERE digest IN (
                SELECT digest FROM bucket_objects WHERE unreferenced_since <= $1
                ORDER BY digest LIMIT $2) RETURNING digest, size),
     m AS (DELETE FROM manifests WHERE digest IN (SELECT digest FROM gone)),
     r AS (DELETE FROM manifest_refs WHERE manifest IN (SELECT digest FROM gone)),
     b AS (DELETE FROM blobs WHERE digest IN (SELECT digest FROM gone))
SELECT digest, size FROM gone ORDER BY digest)sql";
    auto rows = tx.query(dry_run ? pick : forget, cutoff, static_cast<std::uint64_t>(limit));
    if (!rows) return std::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i)
      if (auto d = Digest::parse(rows->text(i, 0)))
        out.forgotten.push_back({*d, static_cast<std::uint64_t>(rows->integer(i, 1))});
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return out;
}

Result<BucketGcLedger::Unknown> PgMeta::unknown(
    const std::vector<std::pair<std::string, std::uint64_t>>& listed) {
  std::vector<std::string> digests, sizes;
  for (const auto& [hex, size] : listed) {
    digests.push_back("sha256:" + hex);
    sizes.push_back(std::to_string(size));
  }
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  Unknown out;
  auto done = s->transaction([&](pg::Session& tx) -> Result<void> {
    // Listed objects with no record; those a root reaches are recorded now (uploaded while the
    // ledger did not answer), the others are orphans.
    auto rows = tx.query(std::string(kLive) + R"sql(,
listed AS (SELECT d, sz::bigint AS size FROM unnest($1::text[], $2::text[]) AS t(d, sz)),
missing AS (SELECT d, size FROM listed WHERE d NOT IN (SELECT digest FROM bucket_objects)),
adopted AS (INSERT INTO bucket_objects(digest, size, stored_at)
            SELECT d, size, $3 FROM missing WHERE d IN (SELECT d FROM live) RETURNING digest)
SELECT d, d IN (SELECT digest FROM adopted) FROM missing ORDER BY d)sql",
                         text_array(digests), text_array(sizes), unix_now());
    if (!rows) return std::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) {
      auto hex = rows->text(i, 0).substr(7);
      (rows->text(i, 1) == "t" ? out.live : out.orphans).push_back(std::move(hex));
    }
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return out;
}

Result<std::string> PgMeta::sweep_cursor() {
  auto r = pool_.query("SELECT sweep_after FROM gc_state WHERE id = 1");
  if (!r) return std::unexpected(r.error());
  return r->size() ? r->text(0, 0) : std::string();
}

Result<void> PgMeta::set_sweep_cursor(const std::string& after) {
  auto r = pool_.query("UPDATE gc_state SET sweep_after = $1 WHERE id = 1", after);
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace outpost
