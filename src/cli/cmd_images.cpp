// `outpost images`: the images Kubernetes YAML would pull; with --server, the images an Outpost
// holds (registry/inventory.hpp); with --check, whether it holds every image of some manifests.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include "bundle/images.hpp"
#include "cli/commands.hpp"
#include "cli/progress_bar.hpp"
#include "core/encoding.hpp"
#include "http/client.hpp"
#include "registry/inventory.hpp"

namespace outpost::cli {
namespace {

struct ImagesArgs {
  std::vector<std::string> paths, images_from;
  bool where = false, charts = false, json = false, check = false;
  std::optional<std::string> server;
  TokenOption token;
};

Result<bundle::ImageCollector> collect(const std::vector<std::string>& paths) {
  bundle::ImageCollector c;
  for (const auto& p : paths) {
    Result<void> r;
    if (p == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      r = c.add_yaml(ss.str(), "<stdin>");
    } else {
      r = c.add_path(p);
    }
    if (!r) return std::unexpected(r.error());
  }
  return c;
}

// GET or POST against the server's API; the parsed JSON of a 200.
Result<nlohmann::json> call(const ImagesArgs& a, std::string method, std::string path,
                            std::string body = {}) {
  std::string base = *a.server;
  while (base.ends_with('/')) base.pop_back();
  http::CurlHttpClient client;
  http::ClientRequest req;
  req.method = std::move(method);
  req.url = base + path;
  req.headers = a.token.headers();
  req.total_timeout = std::chrono::seconds(60);
  req.max_body = 64u << 20;  // a page of the inventory, or the check of every image
  req.body_name = "API answer";
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);
  }
  auto r = client.perform(req, nullptr);
  if (!r) return fail(r.error().code, "cannot reach " + base + ": " + r.error().message);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200 || j.is_discarded())
    return fail(
        Errc::upstream_error,
        fmt::format("{} answered HTTP {}: {}", base, r->status,
                    !j.is_discarded() && j.is_object() ? j.value("error", r->body) : r->body));
  return j;
}

void print_held(const std::string& upstream, const std::string& repo, const nlohmann::json& t) {
  std::string releases;
  for (const auto& rel : t["releases"])
    releases += (releases.empty() ? "" : ", ") + rel.get<std::string>();
  auto last = t.value("last_pulled", "");
  std::cout << fmt::format(
      "{:<56} {:<19} {:>10} {:<20} {:<5} {}\n",
      fmt::format("{}/{}:{}", upstream, repo, t.value("tag", "")),
      t.value("digest", "").substr(0, 19), human_bytes(t.value("size", std::uint64_t{0})),
      last.empty() ? "-" : last.substr(0, 19), t.value("local", false) ? "yes" : "NO",
      releases.empty() ? "-" : releases);
}

// Appends one page of the inventory to `all`: pages come in (upstream, repository, tag) order,
// so a page may go on with the upstream and the repository the last one ended with.
void merge_page(nlohmann::json& all, nlohmann::json& page) {
  auto& ups = all["upstreams"];
  for (auto& u : page["upstreams"]) {
    if (ups.empty() || ups.back()["name"] != u["name"]) {
      ups.push_back(std::move(u));
      continue;
    }
    auto& repos = ups.back()["repositories"];
    for (auto& r : u["repositories"]) {
      if (repos.empty() || repos.back()["name"] != r["name"]) {
        repos.push_back(std::move(r));
        continue;
      }
      for (auto& t : r["tags"]) repos.back()["tags"].push_back(std::move(t));
    }
  }
}

// Every page of GET /api/v1/images, in order (the server holds one page in memory at a time).
Result<void> each_images_page(const ImagesArgs& a,
                              const std::function<void(nlohmann::json&)>& each) {
  std::string path = fmt::format("/api/v1/images?n={}", registry::kMaxImagesPage);
  for (;;) {
    auto page = call(a, "GET", path);
    if (!page) return std::unexpected(page.error());
    each(*page);
    if (!page->contains("next") || !(*page)["next"].is_string()) return {};
    path = fmt::format("/api/v1/images?n={}&last={}", registry::kMaxImagesPage,
                       percent_encode((*page)["next"].get<std::string>()));
  }
}

int list_held(const ImagesArgs& a) {
  if (a.json) {
    nlohmann::json all = {{"upstreams", nlohmann::json::array()}, {"total", 0}};
    auto walked = each_images_page(a, [&](nlohmann::json& page) {
      all["total"] = page.value("total", 0);
      merge_page(all, page);
    });
    if (!walked) {
      std::cerr << "outpost images: " << walked.error().message << "\n";
      return 1;
    }
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<56} {:<19} {:>10} {:<20} {:<5} {}\n", "IMAGE", "DIGEST", "SIZE",
                           "LAST PULLED", "LOCAL", "RELEASES");
  std::size_t n = 0, local = 0;
  auto walked = each_images_page(a, [&](nlohmann::json& page) {
    for (const auto& u : page["upstreams"])
      for (const auto& r : u["repositories"])
        for (const auto& t : r["tags"]) {
          ++n;
          if (t.value("local", false)) ++local;
          print_held(u.value("name", ""), r.value("name", ""), t);
        }
  });
  if (!walked) {
    std::cerr << "outpost images: " << walked.error().message << "\n";
    return 1;
  }
  std::cout << fmt::format("{} image tags, {} held whole here\n", n, local);
  return 0;
}

int check_held(const ImagesArgs& a) {
  auto paths = a.images_from;
  paths.insert(paths.end(), a.paths.begin(), a.paths.end());
  if (paths.empty()) {
    std::cerr << "outpost images: --check needs the manifests (--images-from DIR|FILE|-)\n";
    return 2;
  }
  auto c = collect(paths);
  if (!c) {
    std::cerr << "outpost images: " << c.error().message << "\n";
    return 2;
  }
  auto refs = nlohmann::json::array();
  std::map<std::string, std::string> where;
  for (const auto& use : c->images()) {
    refs.push_back(use.ref.str());
    where[use.ref.str()] = use.where;
  }
  auto r = call(a, "POST", "/api/v1/images/check", nlohmann::json({{"images", refs}}).dump());
  if (!r) {
    std::cerr << "outpost images: " << r.error().message << "\n";
    return 2;
  }
  if (a.json) std::cout << r->dump(2) << "\n";
  std::size_t missing = 0;
  for (const auto& i : (*r)["images"]) {
    const bool ok = i.value("local", false);
    if (!ok) ++missing;
    if (!a.json)
      std::cout << fmt::format("{} {}  ({}){}\n", ok ? "held   " : "MISSING", i.value("ref", ""),
                               i.value("reason", ""),
                               ok ? "" : "  used at " + where[i.value("ref", "")]);
  }
  std::cerr << fmt::format(
      "{} images in the manifests: {} held here, {} missing{}\n", refs.size(),
      refs.size() - missing, missing,
      missing ? ": this site cannot go dark with them yet" : ": the site can go dark with them");
  return missing ? 1 : 0;
}

int list_from_yaml(const ImagesArgs& a) {
  if (a.paths.empty()) {
    std::cerr << "outpost images: give YAML files or directories (or '-'), or --server\n";
    return 2;
  }
  auto c = collect(a.paths);
  if (!c) {
    std::cerr << "outpost images: " << c.error().message << "\n";
    return 1;
  }
  if (a.charts) {
    for (const auto& use : c->charts()) {
      std::cout << use.repo_url << " " << use.chart << " " << use.version;
      if (a.where) std::cout << "\t" << use.where;
      std::cout << "\n";
    }
    return 0;
  }
  for (const auto& use : c->images()) {
    std::cout << use.ref.str();
    if (a.where) std::cout << "\t" << use.where;
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

Action setup_images(CLI::App& sub) {
  auto a = std::make_shared<ImagesArgs>();
  sub.add_option("paths", a->paths,
                 "YAML files or directories; '-' reads rendered YAML from stdin");
  sub.add_flag("--where", a->where, "Also print where each image is first used (file:line)");
  sub.add_flag("--charts", a->charts,
               "Print the Helm charts Argo CD Applications install instead (repoURL chart "
               "version per line)");
  sub.add_option("--server", a->server,
                 "An Outpost URL: list the images it holds (tags, digests, sizes, last pulled, "
                 "the releases that pin them, whether each is held whole)");
  sub.add_flag("--check", a->check,
               "With --server: exit 1 naming every image of the manifests (--images-from) the "
               "Outpost does not hold whole; 0 when the site can go dark with them");
  sub.add_option("--images-from", a->images_from,
                 "With --check: Kubernetes YAML files/dirs ('-' = stdin) to take images from");
  sub.add_flag("--json", a->json, "With --server: print the API's JSON");
  a->token.add_to(sub);
  sub.footer(
      "Without --server: prints one normalised reference per line (nginx ->\n"
      "docker.io/library/nginx:latest), sorted and de-duplicated. Charts of Argo CD Applications\n"
      "from OCI registries are listed as images. Example: helm template ./chart | outpost images "
      "-\n"
      "Before cutting the link: outpost images --server URL --check --images-from ./manifests");
  return [a] {
    if (!a->server) {
      if (a->check || a->json) {
        std::cerr << "outpost images: --check and --json need --server\n";
        return 2;
      }
      return list_from_yaml(*a);
    }
    return a->check ? check_held(*a) : list_held(*a);
  };
}

}  // namespace outpost::cli
