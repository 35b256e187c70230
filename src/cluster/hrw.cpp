#include "cluster/hrw.hpp"

#include <algorithm>
#include <numeric>

namespace outpost::cluster {

std::uint64_t hrw_score(std::string_view member, std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  mix(member);
  mix(std::string_view("\0", 1));
  mix(key);
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

std::vector<std::size_t> hrw_order(const std::vector<std::string>& members, std::string_view key) {
  std::vector<std::uint64_t> score(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) score[i] = hrw_score(members[i], key);
  std::vector<std::size_t> order(members.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return score[a] != score[b] ? score[a] > score[b] : members[a] < members[b];
  });
  return order;
}

}  // namespace outpost::cluster
