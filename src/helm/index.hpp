#pragma once
// A Helm repository index.yaml as Outpost serves it: every chart's URL (absolute or relative in
// the upstream's copy) is replaced by Outpost's own "charts/<name>-<version>.tgz", so helm and
// Argo CD only ever talk to Outpost; the upstream URL and digest of each chart are kept for the
// download. Entries with names or versions that cannot be served safely are left out.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.hpp"
#include "core/error.hpp"

namespace outpost::helm {

struct ChartEntry {
  std::string name, version;
  std::string url;               // absolute upstream URL (first of `urls`, resolved)
  std::optional<Digest> digest;  // from the index's `digest` (sha256 hex), when given
  std::string entry_json;        // the index entry as the upstream wrote it (JSON)
};

struct ServedIndex {
  std::string body;                          // the rewritten index (JSON, which is YAML)
  std::map<std::string, ChartEntry> charts;  // by chart_path() without "charts/"
  std::vector<std::string> skipped;          // entries left out, and why
};

// `yaml` as fetched from `index_url` (empty: no upstream copy, only `extra`). `extra` entries
// (charts of retained releases) are added where the index lacks that name+version.
// Errc::invalid_argument when the text is not a Helm index.
Result<ServedIndex> serve_index(std::string_view yaml, const std::string& index_url,
                                const std::vector<ChartEntry>& extra);

// One entry of a served index, for `bundle create --chart`.
Result<ChartEntry> find_chart(const ServedIndex& index, std::string_view name,
                              std::string_view version);

}  // namespace outpost::helm
