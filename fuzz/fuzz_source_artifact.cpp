// GitOps source artifacts from a registry (sources.oci, bundle create --from): whatever the
// content layer holds — a tar, a gzip'd tar, a chart, a bomb — reading the images it names ends
// with an answer or a clear error, within the bounds of kMaxContent*. The first line is also read
// as a semver range and as a tag, as the follow list and the tag list are.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bundle/source_artifact.hpp"
#include "core/semver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto line = bytes.substr(0, std::min<std::size_t>(bytes.find('\n'), 128));
  if (auto r = outpost::SemVerRange::parse(line)) {
    if (auto v = outpost::SemVer::parse(line)) (void)r->matches(*v);
  }
  for (auto kind : {outpost::bundle::SourceArtifact::Kind::manifests,
                    outpost::bundle::SourceArtifact::Kind::helm_chart}) {
    outpost::bundle::SourceArtifact a;
    a.kind = kind;
    auto images = outpost::bundle::source_images(a, bytes);
    if (images)
      for (const auto& use : *images)
        if (use.ref.registry.empty() || use.ref.repo.empty()) __builtin_trap();
  }
  return 0;
}
