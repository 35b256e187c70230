#include "bundle/tar_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

namespace outpost::bundle {

Result<TarReader> open_tar(const std::filesystem::path& file) {
  TarReader a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 20) != ARCHIVE_OK)
    return fail(Errc::not_found,
                fmt::format("{}: {}", file.string(), archive_error_string(a.get())));
  return a;
}

Result<std::string> read_entry(archive* a, std::size_t limit) {
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = archive_read_data(a, buf, sizeof buf);
    if (n < 0)
      return fail(Errc::invalid_argument,
                  std::string("corrupt bundle: ") + archive_error_string(a));
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) return fail(Errc::too_large, "bundle entry too large");
  }
}

Result<BundleHead> read_bundle_head(archive* a) {
  archive_entry* e = nullptr;
  if (archive_read_next_header(a, &e) != ARCHIVE_OK ||
      std::string_view(archive_entry_pathname(e)) != kBundleJson)
    return fail(Errc::invalid_argument,
                fmt::format("not an Outpost bundle: {} must be the first entry", kBundleJson));
  auto json = read_entry(a, 64 << 20);
  if (!json) return std::unexpected(json.error());
  auto m = BundleManifest::parse(*json);
  if (!m) return std::unexpected(m.error());
  return BundleHead{std::move(*m), std::move(*json)};
}

}  // namespace outpost::bundle
