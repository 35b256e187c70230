#include "store/pg_meta.hpp"

#include <array>

#include "pg/migrate.hpp"

namespace outpost {

namespace {

// Schema versions, oldest first (never edit one that shipped: add the next). Text keys sort
// bytewise (COLLATE "C"), as in SQLite, so tag pages and the `<tag>#<types>` ranges agree.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE manifests(
  digest text COLLATE "C" PRIMARY KEY, media_type text NOT NULL, size bigint NOT NULL,
  created_at bigint NOT NULL);
CREATE TABLE tags(
  upstream text COLLATE "C" NOT NULL, repo text COLLATE "C" NOT NULL, tag text COLLATE "C" NOT NULL,
  digest text NOT NULL, checked_at bigint NOT NULL, PRIMARY KEY(upstream, repo, tag));
CREATE TABLE deleted_tags(
  upstream text COLLATE "C" NOT NULL, repo text COLLATE "C" NOT NULL, tag text COLLATE "C" NOT NULL,
  digest text NOT NULL, noticed_at bigint NOT NULL, PRIMARY KEY(upstream, repo, tag));
CREATE TABLE tag_lists(
  upstream text COLLATE "C" NOT NULL, repo text COLLATE "C" NOT NULL, fetched_at bigint NOT NULL,
  PRIMARY KEY(upstream, repo));
CREATE TABLE listed_tags(
  upstream text COLLATE "C" NOT NULL, repo text COLLATE "C" NOT NULL, tag text COLLATE "C" NOT NULL,
  PRIMARY KEY(upstream, repo, tag));
CREATE TABLE referrers(
  upstream text COLLATE "C" NOT NULL, repo text COLLATE "C" NOT NULL, subject text NOT NULL,
  body text NOT NULL, fetched_at bigint NOT NULL, PRIMARY KEY(upstream, repo, subject));
CREATE TABLE blobs(
  digest text COLLATE "C" PRIMARY KEY, size bigint NOT NULL, created_at bigint NOT NULL);
CREATE TABLE helm_charts(
  url text PRIMARY KEY, digest text NOT NULL, fetched_at bigint NOT NULL);
CREATE TABLE releases(
  id bigserial PRIMARY KEY, name text NOT NULL, version text NOT NULL, base_version text,
  imported_at bigint NOT NULL, UNIQUE(name, version));
CREATE TABLE release_blobs(
  release_id bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  digest text COLLATE "C" NOT NULL, PRIMARY KEY(release_id, digest));
CREATE INDEX release_blobs_digest ON release_blobs(digest);
CREATE TABLE release_tags(
  release_id bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  upstream text COLLATE "C" NOT NULL, repo text COLLATE "C" NOT NULL,
  tag text COLLATE "C" NOT NULL, digest text NOT NULL,
  PRIMARY KEY(release_id, upstream, repo, tag));
CREATE TABLE release_charts(
  release_id bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE, repo text NOT NULL,
  name text NOT NULL, version text NOT NULL, digest text NOT NULL, entry text NOT NULL,
  PRIMARY KEY(release_id, repo, name, version));
)sql";

// The bucket's objects: what fsck and the shared GC count, and who uploads each.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE bucket_objects(
  digest text COLLATE "C" PRIMARY KEY, size bigint NOT NULL, stored_at bigint);
)sql";

// What the shared GC follows and keeps: the manifest → child edges, the mark of unreferenced
// objects, and the orphan sweep's cursor.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE manifest_refs(
  manifest text COLLATE "C" NOT NULL, child text COLLATE "C" NOT NULL,
  PRIMARY KEY(manifest, child));
CREATE INDEX manifest_refs_child ON manifest_refs(child);
CREATE INDEX tags_digest ON tags(digest);
ALTER TABLE bucket_objects ADD COLUMN unreferenced_since bigint;
CREATE TABLE gc_state(id integer PRIMARY KEY CHECK (id = 1), sweep_after text NOT NULL);
INSERT INTO gc_state VALUES(1, '');
)sql";

constexpr std::array<std::string_view, 3> kSteps{kV1, kV2, kV3};
// pg_advisory_lock's key for migrations: "outpost" in ASCII, so other users' locks do not clash.
constexpr std::int64_t kMigrationLock = 0x6f7574706f7374;

}  // namespace

// A PostgreSQL array literal of text: {"a","b"} with " and \ escaped.
std::string text_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (const auto& s : v) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

namespace {

Result<void> done(const Result<pg::Rows>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<Digest> digest_at(const pg::Rows& rows, int row, int col) {
  auto d = Digest::parse(rows.text(row, col));
  if (!d) return fail(Errc::io, "the metadata database holds a malformed digest");
  return *d;
}

}  // namespace

Result<void> PgMeta::migrate() {
  auto m = pg::migrate(pool_, kSteps, kMigrationLock);
  if (!m) return std::unexpected(m.error());
  return {};
}

Result<void> PgMeta::put_manifest(const Digest& d, const std::string& media_type,
                                  std::uint64_t size, const std::vector<Digest>& children) {
  std::vector<std::string> kids;
  for (const auto& c : children) kids.push_back(c.str());
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  return s->transaction([&](pg::Session& tx) -> Result<void> {
    if (auto r = tx.query(
            "INSERT INTO manifests(digest, media_type, size, created_at) VALUES($1,$2,$3,$4) "
            "ON CONFLICT(digest) DO UPDATE SET media_type=excluded.media_type",
            d.str(), media_type, size, unix_now());
        !r)
      return std::unexpected(r.error());
    if (kids.empty()) return {};
    return done(tx.query(
        "INSERT INTO manifest_refs(manifest, child) SELECT $1, c FROM unnest($2::text[]) AS c "
        "ON CONFLICT DO NOTHING",
        d.str(), text_array(kids)));
  });
}

Result<std::optional<ManifestRecord>> PgMeta::manifest(const Digest& d) {
  auto r = pool_.query("SELECT media_type, size FROM manifests WHERE digest=$1", d.str());
  if (!r) return std::unexpected(r.error());
  if (r->size() == 0) return std::optional<ManifestRecord>();
  return std::optional<ManifestRecord>(
      ManifestRecord{r->text(0, 0), static_cast<std::uint64_t>(r->integer(0, 1))});
}

Result<void> PgMeta::put_tag(const std::string& upstream, const std::string& repo,
                             const std::string& name, const Digest& d, UnixSeconds checked_at) {
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  return s->transaction([&](pg::Session& tx) -> Result<void> {
    if (auto r = tx.query(
            "INSERT INTO tags(upstream, repo, tag, digest, checked_at) VALUES($1,$2,$3,$4,$5) "
            "ON CONFLICT(upstream, repo, tag) DO UPDATE SET digest=excluded.digest, "
            "checked_at=excluded.checked_at",
            upstream, repo, name, d.str(), checked_at);
        !r)
      return std::unexpected(r.error());
    return done(tx.query("DELETE FROM deleted_tags WHERE upstream=$1 AND repo=$2 AND tag=$3",
                         upstream, repo, name));
  });
}

Result<std::vector<SharedMeta::TagRow>> PgMeta::tag_rows(const std::string& upstream,
                                                         const std::string& repo,
                                                         const std::string& tag) {
  // The tag's own row and its `<tag>#<types>` forms: the key range [tag, tag + '$').
  auto r = pool_.query(
      "SELECT tag, digest, checked_at FROM tags WHERE upstream=$1 AND repo=$2 AND tag >= $3 AND "
      "tag < $3 || '$'",
      upstream, repo, tag);
  if (!r) return std::unexpected(r.error());
  std::vector<TagRow> out;
  for (int i = 0; i < r->size(); ++i) {
    auto d = digest_at(*r, i, 1);
    if (!d) return std::unexpected(d.error());
    out.push_back({r->text(i, 0), {*d, r->integer(i, 2)}});
  }
  return out;
}

Result<void> PgMeta::forget_tag(const std::string& upstream, const std::string& repo,
                                const std::string& tag) {
  return done(
      pool_.query("WITH t AS (DELETE FROM tags WHERE upstream=$1 AND repo=$2 AND tag=$3) "
                  "DELETE FROM deleted_tags WHERE upstream=$1 AND repo=$2 AND tag=$3",
                  upstream, repo, tag));
}

Result<void> PgMeta::note_deleted_tag(const std::string& upstream, const std::string& repo,
                                      const std::string& tag, const Digest& d, UnixSeconds at) {
  return done(pool_.query(
      "INSERT INTO deleted_tags(upstream, repo, tag, digest, noticed_at) VALUES($1,$2,$3,$4,$5) "
      "ON CONFLICT DO NOTHING",
      upstream, repo, tag, d.str(), at));
}

Result<void> PgMeta::put_tag_list(const std::string& upstream, const std::string& repo,
                                  const std::vector<std::string>& tags, UnixSeconds fetched_at) {
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  return s->transaction([&](pg::Session& tx) -> Result<void> {
    if (auto r = tx.query("DELETE FROM listed_tags WHERE upstream=$1 AND repo=$2", upstream, repo);
        !r)
      return std::unexpected(r.error());
    // One statement for the whole list (10,000 tags are one round trip, not 10,000).
    if (auto r = tx.query("INSERT INTO listed_tags(upstream, repo, tag) SELECT $1, $2, t FROM "
                          "unnest($3::text[]) AS t ON CONFLICT DO NOTHING",
                          upstream, repo, text_array(tags));
        !r)
      return std::unexpected(r.error());
    return done(tx.query(
        "INSERT INTO tag_lists(upstream, repo, fetched_at) VALUES($1,$2,$3) ON CONFLICT(upstream, "
        "repo) DO UPDATE SET fetched_at=excluded.fetched_at",
        upstream, repo, fetched_at));
  });
}

Result<std::optional<UnixSeconds>> PgMeta::tag_list_fetched_at(const std::string& upstream,
                                                               const std::string& repo) {
  auto r =
      pool_.query("SELECT fetched_at FROM tag_lists WHERE upstream=$1 AND repo=$2", upstream, repo);
  if (!r) return std::unexpected(r.error());
  if (r->size() == 0) return std::optional<UnixSeconds>();
  return std::optional<UnixSeconds>(r->integer(0, 0));
}

Result<std::vector<std::string>> PgMeta::tag_list(const std::string& upstream,
                                                  const std::string& repo) {
  auto r = pool_.query("SELECT tag FROM listed_tags WHERE upstream=$1 AND repo=$2 ORDER BY tag",
                       upstream, repo);
  if (!r) return std::unexpected(r.error());
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.push_back(r->text(i, 0));
  return out;
}

Result<void> PgMeta::put_referrers(const std::string& upstream, const std::string& repo,
                                   const Digest& subject, const std::string& index) {
  return done(pool_.query(
      "INSERT INTO referrers(upstream, repo, subject, body, fetched_at) VALUES($1,$2,$3,$4,$5) "
      "ON CONFLICT(upstream, repo, subject) DO UPDATE SET body=excluded.body, "
      "fetched_at=excluded.fetched_at",
      upstream, repo, subject.str(), index, unix_now()));
}

Result<std::optional<std::string>> PgMeta::referrers(const std::string& upstream,
                                                     const std::string& repo,
                                                     const Digest& subject) {
  auto r = pool_.query("SELECT body FROM referrers WHERE upstream=$1 AND repo=$2 AND subject=$3",
                       upstream, repo, subject.str());
  if (!r) return std::unexpected(r.error());
  if (r->size() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->text(0, 0));
}

Result<void> PgMeta::put_blob(const Digest& d, std::uint64_t size) {
  return done(pool_.query(
      "INSERT INTO blobs(digest, size, created_at) VALUES($1,$2,$3) ON CONFLICT DO NOTHING",
      d.str(), size, unix_now()));
}

Result<void> PgMeta::put_helm_chart(const std::string& url, const Digest& d) {
  return done(pool_.query(
      "INSERT INTO helm_charts(url, digest, fetched_at) VALUES($1,$2,$3) ON CONFLICT(url) DO "
      "UPDATE SET digest=excluded.digest, fetched_at=excluded.fetched_at",
      url, d.str(), unix_now()));
}

Result<std::optional<Digest>> PgMeta::helm_chart(const std::string& url) {
  auto r = pool_.query("SELECT digest FROM helm_charts WHERE url=$1", url);
  if (!r) return std::unexpected(r.error());
  if (r->size() == 0) return std::optional<Digest>();
  auto d = digest_at(*r, 0, 0);
  if (!d) return std::unexpected(d.error());
  return std::optional<Digest>(*d);
}

namespace {

// A claim: the session holding the digest's advisory lock.
constexpr const char* kStored =
    "INSERT INTO bucket_objects(digest, size, stored_at) VALUES($1,$2,$3) ON CONFLICT(digest) "
    "DO UPDATE SET stored_at=excluded.stored_at, size=excluded.size";

class PgClaim final : public BucketLedger::Claim {
 public:
  PgClaim(pg::Session s, std::int64_t key, Digest d) : s_(std::move(s)), key_(key), d_(d) {}
  ~PgClaim() override { (void)s_.query("SELECT pg_advisory_unlock($1)", key_); }
  Result<void> stored(std::uint64_t size) override {
    auto r = s_.query(kStored, d_.str(), size, unix_now());
    if (!r) return std::unexpected(r.error());
    return {};
  }

 private:
  pg::Session s_;
  std::int64_t key_;
  Digest d_;
};

// The advisory lock key of a digest: its first 64 bits (a collision only defers an upload).
std::int64_t claim_key(const Digest& d) {
  return static_cast<std::int64_t>(std::stoull(std::string(d.hex().substr(0, 16)), nullptr, 16));
}

}  // namespace

Result<BucketLedger::Answer> PgMeta::claim(const Digest& d) {
  auto s = pool_.session();
  if (!s) return std::unexpected(s.error());
  const auto key = claim_key(d);
  auto got = s->query("SELECT pg_try_advisory_lock($1)", key);
  if (!got) return std::unexpected(got.error());
  if (got->text(0, 0) != "t") return Answer{Answer::theirs, nullptr};
  // On the claim's own connection: a pool of one still answers.
  auto st =
      s->query("SELECT 1 FROM bucket_objects WHERE digest=$1 AND stored_at IS NOT NULL", d.str());
  auto claim = std::make_unique<PgClaim>(std::move(*s), key, d);
  if (!st) return std::unexpected(st.error());
  if (st->size() > 0) return Answer{Answer::stored, nullptr};
  return Answer{Answer::mine, std::move(claim)};
}

Result<PgMeta::StoredObjects> PgMeta::stored_objects() {
  auto r = pool_.query("SELECT digest, size, stored_at IS NOT NULL FROM bucket_objects");
  if (!r) return std::unexpected(r.error());
  StoredObjects out;
  for (int i = 0; i < r->size(); ++i) {
    if (r->text(i, 2) != "t") {
      ++out.unfinished;
      continue;
    }
    auto digest = r->text(i, 0);
    if (digest.starts_with("sha256:"))
      out.stored.emplace(digest.substr(7), static_cast<std::uint64_t>(r->integer(i, 1)));
  }
  return out;
}

Result<void> PgMeta::stored(const Digest& d, std::uint64_t size) {
  return done(pool_.query(kStored, d.str(), size, unix_now()));
}

}  // namespace outpost
