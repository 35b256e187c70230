#pragma once
// Writes a bundle tar (libarchive, POSIX pax): regular files only, fixed mtime/owner so the same
// content gives the same bytes.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"

struct archive;

namespace outpost::bundle {

class TarWriter {
 public:
  // Opens `path` for writing ("-" = stdout). Errc::io on failure.
  static Result<TarWriter> open(const std::filesystem::path& path);
  TarWriter(TarWriter&& o) noexcept;
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;
  ~TarWriter();  // closes; a writer not finish()ed leaves an incomplete archive

  Result<void> add(std::string_view name, std::string_view bytes);
  Result<void> add_file(std::string_view name, const std::filesystem::path& file);
  Result<void> finish();

 private:
  explicit TarWriter(archive* a) : a_(a) {}
  Result<void> header(std::string_view name, std::uint64_t size);
  archive* a_ = nullptr;
};

}  // namespace outpost::bundle
