#include "bundle/release_state.hpp"

#include <array>
#include <utility>

namespace outpost::bundle {
namespace {

constexpr std::array<std::pair<ReleaseState, std::string_view>, 7> kNames = {{
    {ReleaseState::unknown, "unknown"},
    {ReleaseState::queued, "queued"},
    {ReleaseState::downloading, "downloading"},
    {ReleaseState::importing, "importing"},
    {ReleaseState::ready, "ready"},
    {ReleaseState::incomplete, "incomplete"},
    {ReleaseState::failed, "failed"},
}};

}  // namespace

std::string_view state_name(ReleaseState s) {
  for (const auto& [state, name] : kNames)
    if (state == s) return name;
  return "unknown";
}

std::optional<ReleaseState> parse_release_state(std::string_view text) {
  for (const auto& [state, name] : kNames)
    if (name == text) return state;
  return std::nullopt;
}

}  // namespace outpost::bundle
