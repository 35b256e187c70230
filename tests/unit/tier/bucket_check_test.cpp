#include "tier/bucket_check.hpp"

#include <gtest/gtest.h>

#include "../fakes/fake_site.hpp"

namespace outpost::tier {
namespace {

TEST(BucketCheck, RecordsAreComparedWithTheListingAndLocalBlobsTheBucketLacksAreQueued) {
  testing::FakeSite site;
  const auto queue = site.dir.path() / "s3-queue";
  std::filesystem::create_directories(queue);
  auto put = [&](std::string_view bytes) {
    auto d = *site.store.put(bytes, std::nullopt);
    EXPECT_TRUE(site.db.put_blob(d, bytes.size()));
    return d;
  };
  const auto in_bucket = put("in the bucket");
  const auto wrong = put("the bucket has it at another size");
  const auto missing = put("held here only");
  const std::string orphan(64, 'e');
  std::map<std::string, std::uint64_t> listed{
      {std::string(in_bucket.hex()), 13}, {std::string(wrong.hex()), 1}, {orphan, 5}};
  auto rep = compare_with_bucket(listed, site.db, site.store, queue);
  EXPECT_EQ(rep.objects, 3u);
  ASSERT_EQ(rep.wrong_size.size(), 1u);
  EXPECT_NE(rep.wrong_size[0].find(std::string(wrong.hex())), std::string::npos);
  EXPECT_EQ(rep.orphans, std::vector<std::string>{orphan});
  EXPECT_EQ(rep.requeued, 1u);
  EXPECT_TRUE(std::filesystem::exists(queue / std::string(missing.hex())));
  EXPECT_FALSE(rep.clean());
  // Queued now: a second look counts it as waiting, not queued again.
  auto again = compare_with_bucket(listed, site.db, site.store, queue);
  EXPECT_EQ(again.requeued, 0u);
  EXPECT_EQ(again.waiting, 1u);
}

}  // namespace
}  // namespace outpost::tier
