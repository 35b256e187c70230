#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "store/fsck.hpp"

namespace outpost::cli {

Action setup_fsck(CLI::App& sub) {
  auto opt = std::make_shared<DataDirOption>();
  opt->add_to(sub);
  sub.footer(
      "Exit status: 0 when the store is clean, 1 when something was repaired or quarantined.");
  return [opt] {
    Config c = load_config(opt->config.path);
    auto data = opt->existing(c);
    BlobStore store(data);
    MetaDb db(data / "meta.db");
    auto rep = run_fsck(store, db);
    std::cout << fmt::format("checked {} blobs ({} bytes)\n", rep.blobs_checked, rep.bytes_checked);
    for (const auto& c : rep.corrupt) std::cout << "corrupt (quarantined): " << c << "\n";
    for (const auto& s : rep.stray) std::cout << "stray file (ignored): " << s << "\n";
    if (rep.missing_rows_dropped)
      std::cout << fmt::format("dropped {} metadata rows whose blob was missing\n",
                               rep.missing_rows_dropped);
    if (rep.unrecorded_registered)
      std::cout << fmt::format("registered {} published blobs missing from meta.db\n",
                               rep.unrecorded_registered);
    if (rep.tmp_removed) std::cout << fmt::format("removed {} temp files\n", rep.tmp_removed);
    if (!rep.db_ok) std::cout << "meta.db integrity check FAILED\n";
    std::cout << (rep.clean() ? "fsck: clean\n" : "fsck: problems found\n");
    return rep.clean() ? 0 : 1;
  };
}

}  // namespace outpost::cli
