#pragma once
// The seam between the registry mirror and the followed GitOps sources (sources.oci, src/sources):
// for a followed repository the mirror answers a tag and the tag list from what the sources
// advertise (gated, revalidated in the background) instead of going upstream itself. Digests are
// never filtered: a client asking for one by digest gets it as usual.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/time.hpp"

namespace outpost::registry {

class SourceView {
 public:
  virtual ~SourceView() = default;

  struct TagAnswer {
    enum class Kind {
      usual,       // not a followed repository, or a tag the source does not govern
      advertised,  // serve `digest`, no upstream call
      held,        // not advertised (yet): `why`
    } kind = Kind::usual;
    Digest digest = Digest::from_hex(std::string(64, '0'));
    std::string why;
    static TagAnswer advertise(Digest d) {
      TagAnswer a;
      a.kind = Kind::advertised;
      a.digest = std::move(d);
      return a;
    }
    static TagAnswer hold(std::string why) {
      TagAnswer a;
      a.kind = Kind::held;
      a.why = std::move(why);
      return a;
    }
  };
  virtual TagAnswer tag(const std::string& upstream, const std::string& repo,
                        const std::string& tag) const = 0;

  // For a followed repository that has been listed: every tag to list (sorted; held-back versions
  // left out), when upstream listed them, and whether the last check reached upstream.
  struct TagList {
    std::shared_ptr<const std::vector<std::string>> tags;
    UnixSeconds listed_at = 0;
    bool upstream_reached = true;
    std::string last_error;
  };
  virtual std::optional<TagList> tag_list(const std::string& upstream,
                                          const std::string& repo) const = 0;
};

}  // namespace outpost::registry
