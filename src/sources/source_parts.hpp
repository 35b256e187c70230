#pragma once
// The inside of sources::OciSources, shared by its files (oci_sources.cpp, status.cpp).
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sources/oci_sources.hpp"

namespace outpost::sources {

// One followed source: its config, parsed, and what the checks found (under OciSources::mu_).
struct OciSources::Source {
  std::size_t index = 0;
  const OciSourceConfig& cfg;
  std::string upstream, repo;
  std::vector<std::string> literal;  // followed moving tags
  std::vector<SemVerRange> ranges;
  std::string release_name;  // the kept versions' pins: "source:<repository>"
  std::mutex check_mu;       // one check of a source at a time
  // Guarded by OciSources::mu_:
  SourceState state;
  std::set<std::string> snapshot;                           // upstream's last tag list
  std::shared_ptr<const std::vector<std::string>> visible;  // null until first listed
  std::chrono::steady_clock::time_point due;
  bool running = false;  // a check of it is in the pool
};

struct OciSources::Gated {
  bool ready = false;
  std::string why, version;
  Digest digest = Digest::from_hex(std::string(64, '0'));
  std::vector<ReleaseRecord::Blob> blobs;
  std::vector<ReleaseRecord::Tag> tags;
};

}  // namespace outpost::sources
