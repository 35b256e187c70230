#include "bundle/bundle_reader.hpp"
#include "bundle/archive_error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

namespace outpost::bundle {

struct BundleReader::Tar {
  std::unique_ptr<archive, int (*)(archive*)> a{archive_read_new(), archive_read_free};
  archive* get() const { return a.get(); }
  std::unexpected<Error> corrupt() const {
    return fail(Errc::invalid_argument,
                std::string("corrupt or truncated bundle: ") + archive_why(get()));
  }
};

BundleReader::BundleReader(std::unique_ptr<Tar> tar) : tar_(std::move(tar)) {}
BundleReader::BundleReader(BundleReader&&) noexcept = default;
BundleReader& BundleReader::operator=(BundleReader&&) noexcept = default;
BundleReader::~BundleReader() = default;

Result<BundleReader> BundleReader::open(const std::filesystem::path& file) {
  auto tar = std::make_unique<Tar>();
  archive_read_support_format_tar(tar->get());
  if (archive_read_open_filename(tar->get(), file.c_str(), 1 << 20) != ARCHIVE_OK)
    return fail(Errc::not_found, fmt::format("{}: {}", file.string(), archive_why(tar->get())));
  BundleReader r(std::move(tar));
  archive_entry* e = nullptr;
  if (archive_read_next_header(r.tar_->get(), &e) != ARCHIVE_OK ||
      std::string_view(archive_entry_pathname(e)) != kBundleJson)
    return fail(Errc::invalid_argument,
                fmt::format("not an Outpost bundle: {} must be the first entry", kBundleJson));
  auto json = r.read_all(64 << 20);
  if (!json) return std::unexpected(json.error());
  auto m = BundleManifest::parse(*json);
  if (!m) return std::unexpected(m.error());
  r.head_ = BundleHead{std::move(*m), std::move(*json)};
  return r;
}

Result<std::optional<BundleReader::Entry>> BundleReader::next() {
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(tar_->get(), &e);
  if (rc == ARCHIVE_EOF) return std::optional<Entry>();
  if (rc != ARCHIVE_OK) return tar_->corrupt();
  std::string path = archive_entry_pathname(e);
  if (archive_entry_filetype(e) != AE_IFREG)
    return fail(Errc::invalid_argument,
                fmt::format("bundle entry '{}' is not a regular file", path));
  if (path == kBundleSig) return std::optional<Entry>({EntryKind::signature, path, {}});
  if (path == "oci-layout") return std::optional<Entry>({EntryKind::oci_layout, path, {}});
  if (path == "index.json") return std::optional<Entry>({EntryKind::index, path, {}});
  constexpr std::string_view prefix = "blobs/sha256/";
  if (path.starts_with(prefix)) {
    if (auto d = Digest::parse("sha256:" + path.substr(prefix.size())); d)
      return std::optional<Entry>({EntryKind::blob, path, *d});
  }
  return fail(
      Errc::invalid_argument,
      fmt::format("unexpected bundle entry '{}' (only {} and an OCI layout)", path, kBundleJson));
}

Result<std::string> BundleReader::read_all(std::size_t limit) {
  std::string out;
  auto r = read([&](std::span<const char> chunk) -> Result<void> {
    out.append(chunk.data(), chunk.size());
    if (out.size() > limit) return fail(Errc::too_large, "bundle entry too large");
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

Result<void> BundleReader::read(const std::function<Result<void>(std::span<const char>)>& chunk) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    auto n = archive_read_data(tar_->get(), buf.data(), buf.size());
    if (n < 0) return tar_->corrupt();
    if (n == 0) return {};
    if (auto r = chunk(std::span<const char>(buf.data(), static_cast<std::size_t>(n))); !r)
      return r;
  }
}

void BundleReader::skip() {
  archive_read_data_skip(tar_->get());
}

std::uint64_t BundleReader::position() const {
  return static_cast<std::uint64_t>(archive_filter_bytes(tar_->get(), -1));
}

}  // namespace outpost::bundle
