#pragma once
// Rendezvous (highest random weight) hashing: every replica scores every key, and the key's owner
// is the live replica with the highest score. Removing a replica moves only the keys it owned;
// every replica computes the same order with no coordination. Scores are a fixed 64-bit hash
// (FNV-1a, then a SplitMix64 finish), the same in every process and build.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::cluster {

std::uint64_t hrw_score(std::string_view member, std::string_view key);

// Indexes into `members`, the owner first. Ties (never in practice) go to the smaller name.
std::vector<std::size_t> hrw_order(const std::vector<std::string>& members, std::string_view key);

}  // namespace outpost::cluster
