#include "bundle/source_artifact.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>

#include "bundle/archive_error.hpp"
#include "core/text.hpp"
#include "registry/manifest.hpp"

namespace outpost::bundle {
namespace {

using Files = std::map<std::string, std::string>;  // path in the tar → contents (sorted)

bool interesting(std::string_view path) {
  return path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json") ||
         path.ends_with(".tpl");
}

// The tar's regular files worth reading, within kMaxContent*; `..` and absolute paths skipped.
Result<Files> unpack(std::string_view content) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), content.data(), content.size()) != ARCHIVE_OK)
    return fail(Errc::invalid_argument,
                fmt::format("content layer is no tar: {}", archive_why(a.get())));
  Files files;
  std::uint64_t total = 0;
  std::size_t count = 0;
  archive_entry* e = nullptr;
  for (int rc; (rc = archive_read_next_header(a.get(), &e)) != ARCHIVE_EOF;) {
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return fail(Errc::invalid_argument, fmt::format("content layer: {}", archive_why(a.get())));
    if (++count > kMaxContentFiles)
      return fail(Errc::invalid_argument,
                  fmt::format("content layer holds over {} files", kMaxContentFiles));
    std::string path = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    while (path.starts_with("./")) path.erase(0, 2);
    if (archive_entry_filetype(e) != AE_IFREG || path.starts_with('/') ||
        path.find("..") != std::string::npos || !interesting(path))
      continue;
    const auto size = archive_entry_size(e);
    total += size > 0 ? static_cast<std::uint64_t>(size) : 0;
    if (total > kMaxContentBytes)
      return fail(Errc::invalid_argument,
                  fmt::format("content layer unpacks to over {} MiB", kMaxContentBytes >> 20));
    std::string data(static_cast<std::size_t>(std::max<la_int64_t>(size, 0)), '\0');
    auto got = archive_read_data(a.get(), data.data(), data.size());
    if (got < 0 || static_cast<std::size_t>(got) != data.size())
      return fail(Errc::invalid_argument, fmt::format("content layer: {} is truncated", path));
    files[path] = std::move(data);
  }
  return files;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

Result<YAML::Node> load_yaml(const std::string& text, const std::string& origin) {
  if (auto why = untrusted_yaml_problem(text))
    return fail(Errc::invalid_argument, fmt::format("{}: {}", origin, *why));
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::invalid_argument,
                fmt::format("{}:{}: invalid YAML: {}", origin, e.mark.line + 1, e.msg));
  }
}

std::string scalar(const YAML::Node& n) {
  return n && n.IsScalar() ? n.as<std::string>() : std::string();
}

// A kustomization's `images:` entry: the image `name` becomes newName:newTag / @digest.
struct ImageOverride {
  std::string name, new_name, new_tag, digest;
};

Result<void> read_overrides(const std::string& text, const std::string& origin,
                            std::vector<ImageOverride>& out) {
  auto y = load_yaml(text, origin);
  if (!y) return std::unexpected(y.error());
  if (!y->IsMap() || !(*y)["images"] || !(*y)["images"].IsSequence()) return {};
  for (const auto& i : (*y)["images"])
    if (i.IsMap() && !scalar(i["name"]).empty())
      out.push_back(
          {scalar(i["name"]), scalar(i["newName"]), scalar(i["newTag"]), scalar(i["digest"])});
  return {};
}

registry::ImageRef overridden(const ImageUse& use, const std::vector<ImageOverride>& overrides) {
  for (const auto& o : overrides) {
    auto named = registry::parse_image_ref(o.name);
    if (!named || named->registry != use.ref.registry || named->repo != use.ref.repo) continue;
    std::string text = o.new_name.empty() ? use.ref.registry + "/" + use.ref.repo : o.new_name;
    text += ":" + (o.new_tag.empty() ? (use.ref.tag.empty() ? "latest" : use.ref.tag) : o.new_tag);
    if (!o.digest.empty())
      text += "@" + o.digest;
    else if (o.new_tag.empty() && use.ref.digest)
      text += "@" + use.ref.digest->str();
    if (auto r = registry::parse_image_ref(text)) return *r;
  }
  return use.ref;
}

Result<std::vector<ImageUse>> manifest_images(const Files& files) {
  ImageCollector found;
  std::vector<ImageOverride> overrides;
  for (const auto& [path, text] : files) {
    const auto name = base_name(path);
    if (name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization") {
      if (auto r = read_overrides(text, path, overrides); !r) return std::unexpected(r.error());
      continue;
    }
    if (path.ends_with(".tpl")) continue;
    if (auto r = found.add_yaml(text, path); !r) return std::unexpected(r.error());
  }
  if (overrides.empty()) return found.images();
  ImageCollector out;
  for (const auto& use : found.images()) out.add_ref(overridden(use, overrides), use.where);
  return out.images();
}

// A Helm value that names an image: a string, or a map of registry/repository/tag/digest.
void value_image(const YAML::Node& v, const std::string& app_version, const std::string& where,
                 ImageCollector& out) {
  std::string text;
  if (v.IsScalar()) {
    text = v.as<std::string>();
  } else if (v.IsMap() && !scalar(v["repository"]).empty()) {
    auto reg = scalar(v["registry"]);
    auto tag = scalar(v["tag"]);
    if (tag.empty()) tag = app_version;
    text =
        (reg.empty() ? "" : reg + "/") + scalar(v["repository"]) + (tag.empty() ? "" : ":" + tag);
    if (auto d = scalar(v["digest"]); !d.empty()) text += "@" + d;
  }
  if (text.empty() || text.find("{{") != std::string::npos) return;
  if (auto ref = registry::parse_image_ref(text)) out.add_ref(*ref, where);
}

void walk_values(const YAML::Node& n, const std::string& app_version, const std::string& where,
                 ImageCollector& out, int depth) {
  if (depth > 32) return;
  if (n.IsSequence())
    for (const auto& x : n) walk_values(x, app_version, where, out, depth + 1);
  if (!n.IsMap()) return;
  for (const auto& kv : n) {
    auto key = kv.first.IsScalar() ? kv.first.as<std::string>() : std::string();
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key.ends_with("image"))
      value_image(kv.second, app_version, fmt::format("{}:{}", where, kv.second.Mark().line + 1),
                  out);
    walk_values(kv.second, app_version, where, out, depth + 1);
  }
}

// Literal `image: <ref>` lines of a template (those with no template action in them).
void template_images(const std::string& path, const std::string& text, ImageCollector& out) {
  std::size_t line_no = 0;
  for (std::size_t at = 0; at < text.size();) {
    auto end = text.find('\n', at);
    std::string_view line(text.data() + at, (end == std::string::npos ? text.size() : end) - at);
    at = end == std::string::npos ? text.size() : end + 1;
    ++line_no;
    auto start = line.find_first_not_of(" \t-");
    if (start == std::string_view::npos || !line.substr(start).starts_with("image:")) continue;
    auto v = line.substr(start + 6);
    while (!v.empty() && (v.front() == ' ' || v.front() == '"' || v.front() == '\''))
      v.remove_prefix(1);
    while (!v.empty() &&
           (v.back() == ' ' || v.back() == '"' || v.back() == '\'' || v.back() == '\r'))
      v.remove_suffix(1);
    if (v.empty() || v.find("{{") != std::string_view::npos) continue;
    if (auto ref = registry::parse_image_ref(v))
      out.add_ref(*ref, fmt::format("{}:{}", path, line_no));
  }
}

Result<std::vector<ImageUse>> chart_images(const Files& files) {
  ImageCollector out;
  bool any_chart = false;
  for (const auto& [path, text] : files) {  // each chart and unpacked subchart
    if (base_name(path) != "Chart.yaml") continue;
    any_chart = true;
    auto chart = load_yaml(text, path);
    if (!chart) return std::unexpected(chart.error());
    const auto app_version = chart->IsMap() ? scalar((*chart)["appVersion"]) : std::string();
    const auto dir = dir_of(path);
    if (auto it = files.find(dir + "values.yaml"); it != files.end()) {
      auto values = load_yaml(it->second, it->first);
      if (!values) return std::unexpected(values.error());
      walk_values(*values, app_version, it->first, out, 0);
    }
    for (auto it = files.lower_bound(dir + "templates/");
         it != files.end() && it->first.starts_with(dir + "templates/"); ++it)
      template_images(it->first, it->second, out);
  }
  if (!any_chart) return fail(Errc::invalid_argument, "the chart has no Chart.yaml");
  return out.images();
}

bool content_type(std::string_view t) {
  return t == kHelmContentType || t == kOciLayerTarGzip || t == kFluxContentType ||
         t.ends_with("tar+gzip") || t.ends_with(".tar");
}

}  // namespace

Result<SourceArtifact> read_source_artifact(std::string_view manifest) {
  auto j = nlohmann::json::parse(manifest, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::invalid_argument, "the artifact's manifest is not JSON");
  if (registry::is_index_media_type(j.value("mediaType", "")) || j.contains("manifests"))
    return fail(Errc::invalid_argument, "the artifact is an index, not one manifest");
  SourceArtifact a;
  const auto config = j.value("config", nlohmann::json::object());
  if (!config.is_object()) return fail(Errc::invalid_argument, "the artifact has no config");
  std::vector<nlohmann::json> descs = {config};
  if (j.contains("layers") && j["layers"].is_array())
    for (const auto& l : j["layers"]) descs.push_back(l);
  bool found = false;
  for (std::size_t i = 0; i < descs.size(); ++i) {
    const auto& d = descs[i];
    if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string())
      return fail(Errc::invalid_argument, "the artifact lists a blob without a digest");
    auto digest = Digest::parse(d["digest"].get<std::string>());
    if (!digest) return fail(Errc::invalid_argument, "the artifact lists a malformed digest");
    const auto size = d.value("size", std::uint64_t{0});
    const auto type = d.value("mediaType", "");
    a.blobs.push_back({*digest, size, type, "", ""});
    // The content layer: Helm's wins over others (Argo CD takes exactly one).
    if (i > 0 && content_type(type) && (!found || type == kHelmContentType)) {
      a.content = *digest;
      a.content_size = size;
      a.content_type = type;
      found = true;
    }
  }
  if (!found)
    return fail(Errc::invalid_argument,
                "the artifact has no content layer (a tar+gzip layer: "
                "application/vnd.oci.image.layer.v1.tar+gzip, Helm's or Flux's content type)");
  if (config.value("mediaType", "") == kHelmConfigType || a.content_type == kHelmContentType)
    a.kind = SourceArtifact::Kind::helm_chart;
  return a;
}

Result<std::vector<ImageUse>> source_images(const SourceArtifact& artifact,
                                            std::string_view content) {
  auto files = unpack(content);
  if (!files) return std::unexpected(files.error());
  if (artifact.kind == SourceArtifact::Kind::helm_chart) return chart_images(*files);
  return manifest_images(*files);
}

Result<FetchedSource> fetch_source(registry::Mirror& mirror, const BlobStore& store,
                                   const registry::Route& manifest) {
  auto m = mirror.manifest(manifest);
  if (!m) return fail(m.error().code, "fetching the artifact: " + m.error().message);
  auto art = read_source_artifact(m->bytes);
  if (!art) return std::unexpected(art.error());
  if (art->content_size > kMaxContentBytes)  // refused before it is downloaded
    return fail(Errc::too_large,
                fmt::format("the artifact's content layer is {} bytes, over {} MiB",
                            art->content_size, kMaxContentBytes >> 20));
  registry::Route blob = manifest;
  blob.kind = registry::Kind::blob;
  blob.tag.clear();
  for (const auto& b : art->blobs) {
    blob.digest = b.digest;
    if (auto ok = mirror.ensure_blob(blob); !ok)
      return fail(ok.error().code, fmt::format("fetching the artifact's blob {}: {}",
                                               b.digest.str(), ok.error().message));
  }
  auto content = store.read_all(art->content, kMaxContentBytes);
  if (!content)
    return fail(content.error().code, "reading the artifact's content: " + content.error().message);
  try {
    auto images = source_images(*art, *content);
    if (!images) return std::unexpected(images.error());
    return FetchedSource{std::move(*m), std::move(*art), std::move(*images)};
  } catch (const std::exception& e) {  // outside bytes: whatever a parser throws is an answer
    return fail(Errc::invalid_argument,
                fmt::format("reading the artifact's content: {}", e.what()));
  }
}

}  // namespace outpost::bundle
