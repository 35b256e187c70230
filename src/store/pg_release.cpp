// PgMeta's releases: recorded whole in one transaction, read back whole by another replica.
#include "store/pg_meta.hpp"

namespace outpost {

namespace {

Result<void> record_release_rows(pg::Session& tx, std::int64_t id, const ReleaseRecord& r,
                                 UnixSeconds now) {
  for (const auto& b : r.blobs) {
    if (auto x = tx.query("INSERT INTO release_blobs(release_id, digest) VALUES($1,$2) ON "
                          "CONFLICT DO NOTHING",
                          id, b.digest.str());
        !x)
      return std::unexpected(x.error());
    if (auto x = tx.query("INSERT INTO blobs(digest, size, created_at) VALUES($1,$2,$3) ON "
                          "CONFLICT DO NOTHING",
                          b.digest.str(), b.size, now);
        !x)
      return std::unexpected(x.error());
    if (b.manifest_media_type.empty()) continue;
    if (auto x =
            tx.query("INSERT INTO manifests(digest, media_type, size, created_at) VALUES($1,"
                     "$2,$3,$4) ON CONFLICT(digest) DO UPDATE SET media_type=excluded.media_type",
                     b.digest.str(), b.manifest_media_type, b.size, now);
        !x)
      return std::unexpected(x.error());
  }
  for (const auto& t : r.tags) {
    if (auto x = tx.query("INSERT INTO release_tags(release_id, upstream, repo, tag, digest) "
                          "VALUES($1,$2,$3,$4,$5) ON CONFLICT(release_id, upstream, repo, tag) "
                          "DO UPDATE SET digest=excluded.digest",
                          id, t.upstream, t.repo, t.tag, t.digest.str());
        !x)
      return std::unexpected(x.error());
    if (auto x = tx.query("INSERT INTO tags(upstream, repo, tag, digest, checked_at) VALUES($1,"
                          "$2,$3,$4,0) ON CONFLICT(upstream, repo, tag) DO UPDATE SET "
                          "digest=excluded.digest",
                          t.upstream, t.repo, t.tag, t.digest.str());
        !x)
      return std::unexpected(x.error());
  }
  for (const auto& c : r.charts) {
    if (auto x = tx.query("INSERT INTO release_charts(release_id, repo, name, version, digest, "
                          "entry) VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(release_id, repo, name, "
                          "version) DO UPDATE SET digest=excluded.digest, entry=excluded.entry",
                          id, c.repo, c.name, c.version, c.digest.str(), c.entry_json);
        !x)
      return std::unexpected(x.error());
  }
  return {};
}

}  // namespace

Result<void> PgMeta::record_release(const ReleaseRecord& r) {
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  return s->transaction([&](pg::Session& tx) -> Result<void> {
    const auto now = unix_now();
    // One row per name and version, taken (or waited for) by an upsert: replicas recording the
    // same release at once (a fan-out) replace it one after the other, never collide.
    auto id = tx.query(
        "INSERT INTO releases(name, version, base_version, imported_at) VALUES($1,$2,$3,$4) "
        "ON CONFLICT(name, version) DO UPDATE SET base_version=excluded.base_version, "
        "imported_at=excluded.imported_at RETURNING id",
        r.name, r.version, r.base_version, now);
    if (!id) return std::unexpected(id.error());
    const auto rid = id->integer(0, 0);
    for (const char* clear : {"DELETE FROM release_blobs WHERE release_id=$1",
                              "DELETE FROM release_tags WHERE release_id=$1",
                              "DELETE FROM release_charts WHERE release_id=$1"})
      if (auto x = tx.query(clear, rid); !x) return std::unexpected(x.error());
    return record_release_rows(tx, rid, r, now);
  });
}

Result<std::vector<SharedMeta::ReleaseKey>> PgMeta::release_keys() {
  auto r = pool_.query("SELECT name, version FROM releases ORDER BY name, id");
  if (!r) return std::unexpected(r.error());
  std::vector<ReleaseKey> out;
  for (int i = 0; i < r->size(); ++i) out.push_back({r->text(i, 0), r->text(i, 1)});
  return out;
}

Result<std::optional<ReleaseRecord>> PgMeta::release(const ReleaseKey& key) {
  auto head = pool_.query("SELECT id, base_version FROM releases WHERE name=$1 AND version=$2",
                          key.name, key.version);
  if (!head) return std::unexpected(head.error());
  if (head->size() == 0) return std::optional<ReleaseRecord>();
  ReleaseRecord r{key.name, key.version, std::nullopt, {}, {}, {}};
  const auto id = head->integer(0, 0);
  if (!head->null(0, 1)) r.base_version = head->text(0, 1);
  auto blobs = pool_.query(
      "SELECT rb.digest, COALESCE(b.size, m.size, 0), COALESCE(m.media_type, '') FROM "
      "release_blobs rb LEFT JOIN blobs b ON b.digest=rb.digest LEFT JOIN manifests m ON "
      "m.digest=rb.digest WHERE rb.release_id=$1 ORDER BY rb.digest",
      id);
  if (!blobs) return std::unexpected(blobs.error());
  for (int i = 0; i < blobs->size(); ++i)
    if (auto d = Digest::parse(blobs->text(i, 0)))
      r.blobs.push_back({*d, static_cast<std::uint64_t>(blobs->integer(i, 1)), blobs->text(i, 2)});
  auto tags = pool_.query(
      "SELECT upstream, repo, tag, digest FROM release_tags WHERE release_id=$1 ORDER BY "
      "upstream, repo, tag",
      id);
  if (!tags) return std::unexpected(tags.error());
  for (int i = 0; i < tags->size(); ++i)
    if (auto d = Digest::parse(tags->text(i, 3)))
      r.tags.push_back({tags->text(i, 0), tags->text(i, 1), tags->text(i, 2), *d});
  auto charts = pool_.query(
      "SELECT repo, name, version, digest, entry FROM release_charts WHERE release_id=$1 ORDER "
      "BY repo, name, version",
      id);
  if (!charts) return std::unexpected(charts.error());
  for (int i = 0; i < charts->size(); ++i)
    if (auto d = Digest::parse(charts->text(i, 3)))
      r.charts.push_back(
          {charts->text(i, 0), charts->text(i, 1), charts->text(i, 2), *d, charts->text(i, 4)});
  return std::optional<ReleaseRecord>(std::move(r));
}

Result<void> PgMeta::drop_release(const ReleaseKey& key) {
  auto r = pool_.query("DELETE FROM releases WHERE name=$1 AND version=$2", key.name, key.version);
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace outpost
