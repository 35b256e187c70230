#pragma once
// Atomic, durable replacement of a small file outside the blob store (a Helm index copy, a state
// file): the bytes go to a unique temp file beside `path`, which is fsynced, renamed over `path`
// and the directory fsynced. After a crash `path` holds the old bytes or the new ones, never a
// mix; a failed write leaves the old file and no temp file behind.
#include <filesystem>
#include <string_view>

#include "core/error.hpp"

namespace outpost {

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace outpost
