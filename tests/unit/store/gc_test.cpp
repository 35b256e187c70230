#include "store/gc.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../fakes/fake_site.hpp"
#include "store/atomic_file.hpp"

namespace outpost {
namespace {

Digest put(testing::FakeSite& site, const std::string& bytes) {
  auto w = site.store.create_temp();
  EXPECT_TRUE(w);
  EXPECT_TRUE(w->write(std::string_view(bytes)));
  auto d = w->seal(std::nullopt);
  EXPECT_TRUE(d);
  EXPECT_TRUE(w->publish());
  EXPECT_TRUE(site.db.put_blob(*d, bytes.size()));
  return *d;
}

// (Which unpinned blob goes first is by last access, in whole seconds: within one second the
// order is not this test's to assert.)
TEST(CollectGarbage, EvictsUnpinnedBlobsDownToTheTargetAndNeverAPinnedOne) {
  testing::FakeSite site;
  const auto a = put(site, std::string(1000, 'a'));
  const auto b = put(site, std::string(1000, 'b'));
  const auto c = put(site, std::string(1000, 'c'));
  const auto pinned = put(site, std::string(1000, 'p'));
  MetaDb::ReleaseRecord rel;
  rel.name = "shop";
  rel.version = "v1";
  rel.blobs = {{pinned, 1000, ""}};
  ASSERT_TRUE(site.db.record_release(rel));
  auto r = collect_garbage(site.store, site.db, 2000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->evicted_blobs, 2u);
  EXPECT_TRUE(site.store.contains(pinned));
  EXPECT_EQ(site.store.contains(a) + site.store.contains(b) + site.store.contains(c), 1);
  EXPECT_EQ(r->store_bytes_after, 2000u);
  auto all = collect_garbage(site.store, site.db, 0);  // 0: every unpinned blob
  ASSERT_TRUE(all);
  EXPECT_FALSE(site.store.contains(a) || site.store.contains(b) || site.store.contains(c));
  EXPECT_TRUE(site.store.contains(pinned));
  EXPECT_EQ(all->pinned_bytes, 1000u);
}

TEST(AtomicFile, ReplacesWholeAndLeavesNoTempFileOnFailure) {
  testing::TempDir dir;
  const auto path = dir.path() / "state.json";
  ASSERT_TRUE(write_file_atomically(path, "old"));
  ASSERT_TRUE(write_file_atomically(path, "new, longer"));
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "new, longer");
  // A directory in the way: the rename fails, nothing is left beside it.
  std::filesystem::create_directories(dir.path() / "blocked" / "x");
  EXPECT_FALSE(write_file_atomically(dir.path() / "blocked", "bytes"));
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 2u);  // state.json and blocked/
}

}  // namespace
}  // namespace outpost
