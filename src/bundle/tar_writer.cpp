#include "bundle/tar_writer.hpp"
#include "bundle/archive_error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "core/fd.hpp"

namespace outpost::bundle {

Result<TarWriter> TarWriter::open(const std::filesystem::path& path) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  int rc = path == "-" ? archive_write_open_fd(a, 1) : archive_write_open_filename(a, path.c_str());
  if (rc != ARCHIVE_OK) {
    std::string msg = archive_why(a);
    archive_write_free(a);
    return fail(Errc::io, "cannot write " + path.string() + ": " + msg);
  }
  return TarWriter(a);
}

TarWriter::TarWriter(TarWriter&& o) noexcept : a_(std::exchange(o.a_, nullptr)) {}

TarWriter::~TarWriter() {
  if (a_) archive_write_free(a_);
}

Result<void> TarWriter::header(std::string_view name, std::uint64_t size) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, std::string(name).c_str());
  archive_entry_set_size(e, static_cast<la_int64_t>(size));
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 0, 0);
  int rc = archive_write_header(a_, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) return fail(Errc::io, std::string("tar header: ") + archive_why(a_));
  return {};
}

Result<void> TarWriter::add(std::string_view name, std::string_view bytes) {
  if (auto r = header(name, bytes.size()); !r) return r;
  if (archive_write_data(a_, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
    return fail(Errc::io, std::string("tar write: ") + archive_why(a_));
  return {};
}

Result<void> TarWriter::add_file(std::string_view name, const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + file.string(), errno);
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return fail(Errc::io, "stat " + file.string());
  if (auto r = header(name, size); !r) return r;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) return fail_errno("read " + file.string(), errno);
    if (n == 0) break;
    if (archive_write_data(a_, buf.data(), static_cast<std::size_t>(n)) != n)
      return fail(Errc::io, std::string("tar write: ") + archive_why(a_));
  }
  return {};
}

Result<void> TarWriter::finish() {
  if (archive_write_close(a_) != ARCHIVE_OK)
    return fail(Errc::io, std::string("tar close: ") + archive_why(a_));
  return {};
}

}  // namespace outpost::bundle
