// Bundle tars: whatever the bytes, an import either records a complete, verified release or
// leaves the store and the metadata as they were.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "bundle/import.hpp"

namespace {

struct Env {
  std::filesystem::path dir;
  outpost::BlobStore store;
  outpost::MetaDb db;
  Env()
      : dir(std::filesystem::temp_directory_path() /
            ("outpost-fuzz-" + std::to_string(::getpid()))),
        store((std::filesystem::create_directories(dir), dir)),
        db(dir / "meta.db") {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Env env;
  auto file = env.dir / "input.tar";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  outpost::NullProgress quiet;
  auto r = outpost::bundle::import_bundle_file(file, env.store, env.db, {}, quiet);
  if (!r) {
    // A refused bundle leaves nothing staged behind.
    if (!std::filesystem::is_empty(env.store.tmp_dir())) __builtin_trap();
  }
  return 0;
}
