// `outpost bundle export`: a release a running Outpost holds, written back to a bundle file — the
// same file that was imported (the same outpost-bundle.json and signature, the same layout), so
// another site imports it with the same trust keys. It is read from the server's
// outpost.releases/<name>:<version> artifact (bundle/artifact.hpp), every file verified on the
// way; nothing but the layout's own names is written.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "bundle/bundle_manifest.hpp"
#include "bundle/tar_writer.hpp"
#include "cli/bundle_commands.hpp"
#include "cli/progress_bar.hpp"
#include "core/digest.hpp"
#include "core/fd.hpp"
#include "http/client.hpp"
#include "registry/route.hpp"

namespace outpost::cli {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTitle = "org.opencontainers.image.title";

// Writes a 2xx body to a file while hashing it.
class FileSink final : public http::BodySink {
 public:
  FileSink(int fd, ProgressSink& progress, std::uint64_t base, std::uint64_t total)
      : fd_(fd), progress_(progress), base_(base), total_(total) {}
  bool on_start(int, const http::Headers&) override { return true; }
  bool on_data(std::span<const char> bytes) override {
    hash_.update(bytes);
    if (!write_all(fd_, std::string_view(bytes.data(), bytes.size()), "writing the bundle"))
      return false;
    written_ += bytes.size();
    progress_.bytes(base_ + written_, total_);
    return true;
  }
  Digest finish() { return hash_.finish(); }

 private:
  int fd_;
  ProgressSink& progress_;
  std::uint64_t base_, total_, written_ = 0;
  Sha256 hash_;
};

// The names a bundle tar holds (import accepts nothing else): a blob's name is its digest.
bool layout_name(const std::string& title, const Digest& d) {
  return title == bundle::kBundleJson || title == bundle::kBundleSig || title == "oci-layout" ||
         title == "index.json" || title == "blobs/sha256/" + std::string(d.hex());
}

struct Layer {
  std::string title;
  Digest digest;
  std::uint64_t size;
};

Result<std::vector<Layer>> artifact_layers(http::HttpClient& client, const std::string& base,
                                           const ExportArgs& a) {
  http::ClientRequest req;
  req.url = fmt::format("{}/v2/{}/{}/manifests/{}", base, registry::kReleasesNamespace, a.name,
                        a.version);
  req.headers = a.token.headers();
  req.headers.emplace_back("Accept", "application/vnd.oci.image.manifest.v1+json");
  req.total_timeout = std::chrono::seconds(60);
  auto r = client.perform(req, nullptr);
  if (!r) return fail(r.error().code, "cannot reach " + base + ": " + r.error().message);
  if (r->status == 404)
    return fail(Errc::not_found, fmt::format("{} holds no release {} {}", base, a.name, a.version));
  if (r->status != 200)
    return fail(Errc::upstream_error, fmt::format("{} answered HTTP {}", base, r->status));
  if (auto dcd = r->headers.get("Docker-Content-Digest"); dcd && *dcd != sha256_of(r->body).str())
    return fail(Errc::digest_mismatch, "the release's manifest does not match its digest");
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("layers") || !j["layers"].is_array())
    return fail(Errc::upstream_error, "the release's artifact manifest is unreadable");
  std::vector<Layer> out;
  for (const auto& l : j["layers"]) {
    auto d = Digest::parse(l.value("digest", ""));
    std::string title;
    if (l.contains("annotations") && l["annotations"].is_object())
      title = l["annotations"].value(kTitle, "");
    if (!d || !layout_name(title, *d))
      return fail(Errc::upstream_error,
                  "the release's artifact names a file no bundle holds: '" + title + "'");
    out.push_back({title, *d, l.value("size", std::uint64_t{0})});
  }
  if (out.empty() || out.front().title != bundle::kBundleJson)
    return fail(Errc::upstream_error, "the release's artifact does not start with the bundle JSON");
  return out;
}

}  // namespace

int run_export(const ExportArgs& a) {
  std::string base = a.server;
  while (base.ends_with('/')) base.pop_back();
  http::CurlHttpClient client;
  auto layers = artifact_layers(client, base, a);
  if (!layers) {
    std::cerr << "outpost bundle export: " << layers.error().message << "\n";
    return 1;
  }
  std::uint64_t total = 0;
  for (const auto& l : *layers) total += l.size;
  const fs::path out = a.output;
  const fs::path part = out.string() + ".part", scratch = out.string() + ".file";
  auto tar = bundle::TarWriter::open(part);
  if (!tar) {
    std::cerr << "outpost bundle export: " << tar.error().message << "\n";
    return 1;
  }
  auto give_up = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(scratch, ec);
    fs::remove(part, ec);
    std::cerr << "outpost bundle export: " << why << " (nothing written)\n";
    return 1;
  };
  ProgressBar bar(fmt::format("exporting {} {}", a.name, a.version));
  std::uint64_t done = 0;
  for (const auto& l : *layers) {
    {
      UniqueFd fd(::open(scratch.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd) return give_up("cannot write " + scratch.string());
      FileSink sink(fd.get(), bar, done, total);
      http::ClientRequest req;
      req.url = fmt::format("{}/v2/{}/{}/blobs/{}", base, registry::kReleasesNamespace, a.name,
                            l.digest.str());
      req.headers = a.token.headers();
      req.stall_timeout = std::chrono::seconds(60);
      auto r = client.perform(req, &sink);
      if (!r) return give_up(l.title + ": " + r.error().message);
      if (r->status != 200) return give_up(fmt::format("{}: HTTP {}", l.title, r->status));
      if (auto got = sink.finish(); got != l.digest)
        return give_up(fmt::format("{} arrived as {}, not {}", l.title, got.str(), l.digest.str()));
    }
    if (auto w = tar->add_file(l.title, scratch); !w) return give_up(w.error().message);
    done += l.size;
  }
  if (auto f = tar->finish(); !f) return give_up(f.error().message);
  std::error_code ec;
  fs::remove(scratch, ec);
  fs::rename(part, out, ec);
  if (ec) return give_up("writing " + out.string() + ": " + ec.message());
  std::cerr << fmt::format("wrote {}: release {} {}, {} files, {}\n", out.string(), a.name,
                           a.version, layers->size(), human_bytes(total));
  return 0;
}

}  // namespace outpost::cli
