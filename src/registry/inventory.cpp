#include "registry/inventory.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include "core/encoding.hpp"
#include "core/time.hpp"
#include "registry/manifest.hpp"
#include "registry/route.hpp"

namespace outpost::registry {
namespace {

// Counts one blob a pull needs.
void need(ImageHolding& h, const BlobStore& store, const Digest& d) {
  ++h.blobs;
  if (auto size = store.size_of(d))
    h.size += *size;
  else
    ++h.missing;
}

std::string when(std::optional<UnixSeconds> t) {
  if (!t || *t <= 0) return "";
  return iso8601(std::chrono::system_clock::time_point(std::chrono::seconds(*t)));
}

nlohmann::json error_json(const std::string& msg) {
  return {{"error", msg}};
}

}  // namespace

bool ImageHolding::local() const {
  if (media_type.empty() || missing > 0) return false;
  return !is_index_media_type(media_type) || !platforms.empty();
}

ImageHolding holding(MetaDb& db, const BlobStore& store, const Digest& top) {
  ImageHolding h;
  auto rec = db.manifest(top);
  auto bytes = store.read_all(top, kMaxManifestBytes);
  if (!rec || !*rec || !bytes) {
    h.blobs = h.missing = 1;
    return h;
  }
  h.media_type = (*rec)->media_type;
  h.blobs = 1;
  h.size = bytes->size();
  auto info = parse_manifest(*bytes);
  if (!info) return h;
  for (const auto& b : info->blobs) need(h, store, b.digest);
  for (const auto& child : info->manifests) {  // an index: the platforms pulled here
    auto child_bytes = store.read_all(child.digest, kMaxManifestBytes);
    if (!child_bytes) continue;  // a platform never pulled is not missing
    auto child_info = parse_manifest(*child_bytes);
    if (!child_info) continue;
    ++h.blobs;
    h.size += child_bytes->size();
    const auto missing_before = h.missing;
    for (const auto& b : child_info->blobs) need(h, store, b.digest);
    if (h.missing == missing_before)
      h.platforms.push_back(child.variant.empty() ? child.platform
                                                  : child.platform + "/" + child.variant);
  }
  return h;
}

static_assert(kReleasesUpstream == kReleasesNamespace);

std::string image_key_text(const MetaDb::ImageKey& k) {
  return k.upstream + "/" + k.repo + ":" + k.tag;
}

std::optional<MetaDb::ImageKey> parse_image_key(std::string_view text) {
  auto slash = text.find('/');
  auto colon = text.rfind(':');
  if (slash == std::string_view::npos || colon == std::string_view::npos || colon < slash ||
      slash == 0 || colon == slash + 1)
    return std::nullopt;
  return MetaDb::ImageKey{std::string(text.substr(0, slash)),
                          std::string(text.substr(slash + 1, colon - slash - 1)),
                          std::string(text.substr(colon + 1))};
}

namespace {

bool matches(const MetaDb::ImageTagRow& t, const std::vector<std::string>& words) {
  if (words.empty()) return true;
  std::string hay = image_key_text({t.upstream, t.repo, t.tag}) + " " + t.digest.str();
  for (const auto& r : t.releases) hay += " " + r;
  for (auto& c : hay) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::all_of(words.begin(), words.end(),
                     [&](const std::string& w) { return hay.find(w) != std::string::npos; });
}

}  // namespace

Result<InventoryPage> inventory_page(MetaDb& db, const BlobStore& store,
                                     const std::optional<MetaDb::ImageKey>& after, std::size_t n,
                                     const std::vector<std::string>& words) {
  InventoryPage page;
  std::optional<MetaDb::ImageKey> from = after;
  const std::size_t batch = std::max<std::size_t>(n, 64);
  while (page.entries.size() < n) {
    auto keys = db.image_keys(from, batch);
    if (!keys) return std::unexpected(keys.error());
    for (const auto& k : *keys) {
      from = k;
      auto row = db.image_tag(k);
      if (!row) return std::unexpected(row.error());
      if (!*row || !matches(**row, words)) continue;
      auto held = holding(db, store, (*row)->digest);
      page.entries.push_back({std::move(**row), std::move(held)});
      if (page.entries.size() == n) {
        page.next = k;
        return page;
      }
    }
    if (keys->size() < batch) break;  // the last keys
  }
  return page;
}

std::string inventory_json(const InventoryPage& page, std::uint64_t total) {
  auto upstreams = nlohmann::json::array();
  for (const auto& e : page.entries) {  // sorted by upstream, repository, tag
    const auto& t = e.tag;
    if (upstreams.empty() || upstreams.back()["name"] != t.upstream)
      upstreams.push_back({{"name", t.upstream}, {"repositories", nlohmann::json::array()}});
    auto& repos = upstreams.back()["repositories"];
    if (repos.empty() || repos.back()["name"] != t.repo)
      repos.push_back({{"name", t.repo}, {"tags", nlohmann::json::array()}});
    repos.back()["tags"].push_back({{"tag", t.tag},
                                    {"digest", t.digest.str()},
                                    {"media_type", e.held.media_type},
                                    {"size", e.held.size},
                                    {"blobs", e.held.blobs},
                                    {"blobs_missing", e.held.missing},
                                    {"local", e.held.local()},
                                    {"platforms", e.held.platforms},
                                    {"last_pulled", when(t.last_access)},
                                    {"checked_at", when(t.checked_at)},
                                    {"releases", t.releases}});
  }
  nlohmann::json out = {{"upstreams", std::move(upstreams)}, {"total", total}};
  if (page.next) out["next"] = image_key_text(*page.next);
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ImageCheck check_image(const RegistryConfig& cfg, MetaDb& db, const BlobStore& store,
                       const ImageRef& ref) {
  ImageCheck c{ref.str(), false, ""};
  if (ref.registry != kReleasesNamespace && !cfg.find(ref.registry)) {
    c.reason = fmt::format("registry {} is not mirrored by this Outpost", ref.registry);
    return c;
  }
  std::optional<Digest> d = ref.digest;
  if (!d) {
    if (auto pin = db.pinned_tag(ref.registry, ref.repo, ref.tag); pin && *pin) d = **pin;
  }
  // A release is served from its pin alone (Mirror::release_manifest): no tag row counts there.
  if (!d && ref.registry != kReleasesNamespace) {
    if (auto tag = db.tag_any_accept(ref.registry, ref.repo, ref.tag); tag && *tag)
      d = (**tag).digest;
  }
  if (!d) {
    c.reason = "never pulled through this Outpost, and no release holds it";
    return c;
  }
  auto h = holding(db, store, *d);
  c.local = h.local();
  if (h.media_type.empty())
    c.reason = fmt::format("its manifest {} is not in the store", d->str());
  else if (h.missing > 0)
    c.reason = fmt::format("{} of its {} blobs are not in the store", h.missing, h.blobs);
  else if (!c.local)
    c.reason = "no platform of this index was ever pulled";
  else
    c.reason = h.platforms.empty()
                   ? fmt::format("{} blobs", h.blobs)
                   : fmt::format("{} blobs; platforms {}", h.blobs, fmt::join(h.platforms, ", "));
  return c;
}

namespace {

// GET /api/v1/images: one page, and a Link to the next (as tags/list pages).
http::Response images_page(MetaDb& db, const BlobStore& store, const http::Request& req) {
  std::size_t n = kDefaultImagesPage;
  if (auto q = req.query_param("n")) {
    auto [p, ec] = std::from_chars(q->data(), q->data() + q->size(), n);
    if (ec != std::errc() || p != q->data() + q->size() || n == 0 || n > kMaxImagesPage)
      return http::Response::json(
          400, error_json(fmt::format("n must be an integer 1..{}", kMaxImagesPage)).dump());
  }
  std::optional<MetaDb::ImageKey> after;
  if (auto last = req.query_param("last")) {
    after = parse_image_key(*last);
    if (!after)
      return http::Response::json(400, error_json("last must be upstream/repo:tag").dump());
  }
  std::vector<std::string> words;
  std::string q(req.query_param("q").value_or(""));
  for (auto& c : q) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::size_t i = 0; i < q.size();) {
    auto end = q.find(' ', i);
    if (end == std::string::npos) end = q.size();
    if (end > i) words.push_back(q.substr(i, end - i));
    i = end + 1;
  }
  auto page = inventory_page(db, store, after, n, words);
  if (!page) return http::Response::json(500, error_json(page.error().message).dump());
  auto total = db.image_key_count();
  if (!total) return http::Response::json(500, error_json(total.error().message).dump());
  auto r = http::Response::json(200, inventory_json(*page, *total));
  if (page->next) {
    auto link =
        fmt::format("</api/v1/images?n={}&last={}", n, percent_encode(image_key_text(*page->next)));
    if (!q.empty()) link += "&q=" + percent_encode(q);
    r.headers.set("Link", link + ">; rel=\"next\"");
  }
  return r;
}

}  // namespace

http::Response handle_images(const RegistryConfig& cfg, MetaDb& db, const BlobStore& store,
                             const http::Request& req) {
  auto json = [](int status, const nlohmann::json& j) {
    return http::Response::json(status,
                                j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  if (req.path == "/api/v1/images" || req.path == "/api/v1/images/") {
    if (req.method != "GET") return json(405, error_json("use GET"));
    return images_page(db, store, req);
  }
  if (req.path != "/api/v1/images/check") return json(404, error_json("no such endpoint"));
  if (req.method != "POST") return json(405, error_json("use POST"));
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("images") ||
      !body["images"].is_array())
    return json(400, error_json("body must be {\"images\": [\"<image reference>\", …]}"));
  auto results = nlohmann::json::array();
  std::size_t missing = 0;
  for (const auto& item : body["images"]) {
    if (!item.is_string()) return json(400, error_json("every image must be a string"));
    auto ref = parse_image_ref(item.get<std::string>());
    ImageCheck c{item.get<std::string>(), false, ""};
    if (!ref)
      c.reason = ref.error().message;
    else
      c = check_image(cfg, db, store, *ref);
    if (!c.local) ++missing;
    results.push_back({{"ref", c.ref}, {"local", c.local}, {"reason", c.reason}});
  }
  return json(200, {{"images", std::move(results)}, {"missing", missing}});
}

}  // namespace outpost::registry
