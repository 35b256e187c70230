#include "http/gzip.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

namespace outpost::http {

std::string gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(Gunzip, RoundTrips) {
  std::string text(100000, 'a');
  auto r = gunzip(gzip(text), 1 << 20);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, text);
}

TEST(Gunzip, StopsABombAtTheLimit) {
  auto r = gunzip(gzip(std::string(10 << 20, '\0')), 1 << 20);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::too_large);
}

TEST(Gunzip, RejectsCorruptAndTruncatedInput) {
  EXPECT_FALSE(gunzip("not gzip at all", 1 << 20));
  auto z = gzip(std::string(5000, 'b'));
  EXPECT_FALSE(gunzip(std::string_view(z).substr(0, z.size() / 2), 1 << 20));
}

}  // namespace outpost::http
