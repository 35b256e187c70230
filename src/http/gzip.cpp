#include "http/gzip.hpp"

#include <zlib.h>

namespace outpost::http {

Result<std::string> gunzip(std::string_view in, std::size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return fail(Errc::internal, "zlib init failed");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int rc = inflate(&zs, Z_NO_FLUSH);
    std::size_t got = sizeof buf - zs.avail_out;
    if (out.size() + got > max_out)
      return fail(Errc::too_large,
                  "gzip body inflates beyond " + std::to_string(max_out) + " bytes");
    out.append(buf, got);
    if (rc == Z_STREAM_END) return out;
    if (rc != Z_OK) return fail(Errc::invalid_argument, "corrupt gzip body");
    if (zs.avail_in == 0 && got == 0) return fail(Errc::invalid_argument, "truncated gzip body");
  }
}

}  // namespace outpost::http
