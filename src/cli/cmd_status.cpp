// `outpost status`: the status page's facts in the terminal (or as JSON for scripts).
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bundle/release_state.hpp"
#include "cli/commands.hpp"
#include "cli/progress_bar.hpp"
#include "http/client.hpp"

namespace outpost::cli {
namespace {

using nlohmann::json;

struct StatusArgs {
  ConfigOption config;
  TokenOption token;
  std::optional<std::string> server;
  bool json = false;
};

std::string age(const json& seconds) {
  if (!seconds.is_number()) return "never";
  auto s = seconds.get<double>();
  if (s < 90) return fmt::format("{:.0f} s ago", s);
  if (s < 5400) return fmt::format("{:.0f} min ago", s / 60);
  if (s < 172800) return fmt::format("{:.0f} h ago", s / 3600);
  return fmt::format("{:.0f} days ago", s / 86400);
}

std::string str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// Each upstream on a line; when it has mirrors, each of its sources below it.
void print_upstreams(const json& s) {
  std::cout << "\nUpstreams\n";
  for (const auto& u : s["upstreams"]) {
    std::string state = !u.value("contacted", false) ? "not used yet"
                        : u.value("up", false)       ? "up since " + str(u, "since")
                                                     : "DOWN since " + str(u, "since");
    std::cout << fmt::format("  {:<8} {:<24} {}", str(u, "kind"), str(u, "name"), state);
    if (!u.value("up", true) && !str(u, "last_error").empty())
      std::cout << " (" << str(u, "last_error") << ")";
    std::cout << "\n";
    for (const auto& src : u.value("sources", json::array()))
      if (src.contains("rate_limit")) {
        const auto& rl = src["rate_limit"];
        std::cout << fmt::format(
            "           rate limit at {}: {} of {} pulls left per {} h{}\n", str(src, "url"),
            rl.value("remaining", 0), rl.value("limit", 0), rl.value("window_seconds", 0) / 3600,
            str(rl, "source").empty() ? "" : " (for " + str(rl, "source") + ")");
      }
    const auto sources = u.value("sources", json::array());
    if (sources.size() < 2) continue;  // the origin alone: the line above says it all
    for (const auto& src : sources) {
      std::string st = !src.value("contacted", false) ? "not used yet"
                       : src.value("up", false)       ? "up"
                                                      : "DOWN";
      std::cout << fmt::format("           {:<6} {:<40} {}, {} received", str(src, "role"),
                               str(src, "url"), st,
                               human_bytes(src.value("bytes", std::uint64_t{0})));
      if (!src.value("up", true) && !str(src, "last_error").empty())
        std::cout << " (" << str(src, "last_error") << ")";
      std::cout << "\n";
    }
  }
}

// The replicas of a site cluster: each peer up or down, bytes received from it, its releases.
void print_cluster(const json& c) {
  std::cout << fmt::format(
      "\nSite cluster\n  this replica {}: owns {:.0f}% of its {} blobs, served {} to peers\n",
      str(c, "self"), 100 * c.value("owned_share", 0.0), c.value("blobs", 0),
      human_bytes(c.value("served_bytes", std::uint64_t{0})));
  for (const auto& p : c.value("peers", json::array())) {
    if (!p.value("member", false)) continue;
    std::size_t ready = 0;
    for (const auto& r : p.value("releases", json::array())) ready += str(r, "state") == "ready";
    std::cout << fmt::format("  {:<40} {} since {}, received {}, {} releases ready\n",
                             str(p, "url"), p.value("up", false) ? "up" : "DOWN", str(p, "since"),
                             human_bytes(p.value("bytes_received", std::uint64_t{0})), ready);
    if (!p.value("up", false) && !str(p, "last_error").empty())
      std::cout << "    last error: " << str(p, "last_error") << "\n";
  }
}

// The bucket behind the local store (storage.s3): up or down, blobs waiting for upload.
void print_object_store(const json& o) {
  std::cout << fmt::format("\nObject store\n  {}/{} (prefix '{}'): {}\n", str(o, "endpoint"),
                           str(o, "bucket"), str(o, "prefix"), str(o, "summary"));
  if (!o.value("up", true) && !str(o, "last_error").empty())
    std::cout << "    last error: " << str(o, "last_error") << "\n";
}

// The followed OCI sources: what each advertises, what upstream has, what is held back and why,
// the last check and the notifications.
void print_oci_sources(const json& list) {
  std::cout << "\nOCI sources (sources.oci)\n";
  for (const auto& o : list) {
    std::cout << fmt::format(
        "  {:<44} advertised {}, newest upstream {}; checked {}{}\n", str(o, "repository"),
        str(o, "advertised_version").empty() ? "-" : str(o, "advertised_version"),
        str(o, "newest_upstream").empty() ? "-" : str(o, "newest_upstream"),
        str(o, "last_check").empty() ? "never" : str(o, "last_check"),
        o.value("upstream_reachable", true) ? "" : " (unreachable: " + str(o, "last_error") + ")");
    const json advertised = o.value("advertised", json::object());  // items() needs it alive
    for (const auto& [tag, a] : advertised.items())
      std::cout << fmt::format("    {} -> {}{}\n", tag, str(a, "digest").substr(0, 19),
                               str(a, "version").empty() ? "" : " (" + str(a, "version") + ")");
    for (const auto& h : o.value("held", json::array()))
      std::cout << fmt::format("    held: {}: {}\n", str(h, "tag"), str(h, "why"));
    for (const auto& n : o.value("notifications", json::array()))
      std::cout << fmt::format(
          "    notify {} {}: {} sent, {} pending, {} failed{}\n", str(n, "kind"), str(n, "url"),
          n.value("sent", 0), n.value("pending", 0), n.value("failed", 0),
          str(n, "last_error").empty() ? "" : " (" + str(n, "last_error") + ")");
  }
}

// The metadata backend (metadata.postgres): up, or down with the writes not shared.
void print_metadata(const json& m) {
  if (str(m, "backend") != "postgres") return;
  std::cout << fmt::format("\nMetadata\n  postgres {}: {}\n", str(m, "where"), str(m, "summary"));
  if (!m.value("up", true) && !str(m, "last_error").empty())
    std::cout << "    last error: " << str(m, "last_error") << "\n";
}

// Registered nodes (flagged ones with why), then how many other clients pulled.
void print_nodes(const json& n) {
  std::cout << fmt::format("\nNodes ({} registered, {} flagged)\n", n.value("registered", 0),
                           n.value("flagged", 0));
  auto when = [](const json& v, const char* k) {
    return v.contains(k) && v[k].is_string() ? v[k].get<std::string>() : std::string("never");
  };
  for (const auto& v : n.value("list", json::array())) {
    if (!v.value("registered", false)) continue;
    std::cout << fmt::format("  {:<30} {} last pull {}, last canary {}, {} {}\n", str(v, "name"),
                             v.value("flagged", false) ? "FLAGGED" : "ok     ",
                             when(v, "last_pull"), when(v, "last_canary"), str(v, "runtime"),
                             str(v, "runtime_version"));
    if (v.value("flagged", false)) std::cout << "    " << str(v, "why") << "\n";
  }
  if (n.value("clients", 0) > 0)
    std::cout << fmt::format("  and {} unregistered client addresses that pulled\n",
                             n.value("clients", 0));
}

void print_human(const json& s, const std::string& server) {
  const auto& r = s["readiness"];
  bool ready = r.value("ready", false);
  std::cout << fmt::format("Outpost {} at {}: {}\n", str(s, "version"), server,
                           ready ? "OFFLINE-READY" : "NOT READY to go offline");
  for (const auto& why : r.value("reasons", json::array()))
    std::cout << "  - " << why.get<std::string>() << "\n";
  print_upstreams(s);
  std::cout << "\nGit mirrors\n";
  if (s["git"].empty()) std::cout << "  (none yet)\n";
  for (const auto& g : s["git"]) {
    std::cout << fmt::format("  {:<40} last sync {}, HEAD {}, {} pending\n", str(g, "repo"),
                             str(g, "last_sync").empty() ? "never" : str(g, "last_sync"),
                             str(g, "head").substr(0, 12),
                             g.value("pending", json::array()).size());
    if (!str(g, "last_error").empty())
      std::cout << "    last error: " << str(g, "last_error") << "\n";
    if (!str(g, "failover").empty())
      std::cout << "    synced from " << str(g, "synced_from") << " (" << str(g, "failover")
                << ")\n";
  }
  if (s.contains("git_pack_cache")) {
    const auto& pc = s["git_pack_cache"];
    auto n = [&](const char* k) { return pc.value(k, std::uint64_t{0}); };
    std::cout << fmt::format(
        "  pack cache: {} hits, {} joined a run, {} runs; {} upload-pack runs saved, {} served "
        "from it; {} kept ({})\n",
        n("hits"), n("joined"), n("misses"), n("runs_saved"), human_bytes(n("served_bytes")),
        n("entries"), human_bytes(n("bytes")));
  }
  std::cout << "\nReleases\n";
  if (s["releases"].empty()) std::cout << "  (none)\n";
  for (const auto& x : s["releases"]) {
    std::cout << fmt::format("  {:<30} {}", str(x, "name") + " " + str(x, "version"),
                             str(x, "state"));
    auto total = x.value("bytes_total", std::uint64_t{0});
    if (bundle::parse_release_state(str(x, "state")) != bundle::ReleaseState::ready && total > 0)
      std::cout << fmt::format(" {}/{}", human_bytes(x.value("bytes_done", std::uint64_t{0})),
                               human_bytes(total));
    if (x.value("blobs_missing", 0) > 0)
      std::cout << fmt::format(", {} blobs missing", x["blobs_missing"].get<int>());
    if (!str(x, "error").empty()) std::cout << " (" << str(x, "error") << ")";
    std::cout << "\n";
  }
  if (!s["helm"].empty()) {
    std::cout << "\nHelm repositories\n";
    for (const auto& h : s["helm"])
      std::cout << fmt::format("  {:<40} index {}, {} charts\n", str(h, "repo"),
                               age(h["stale_seconds"]), h.value("charts", 0));
  }
  if (!s.value("deleted_tags", json::array()).empty()) {
    std::cout << "\nTags deleted upstream, still served (registry.keep_deleted_tags)\n";
    for (const auto& t : s["deleted_tags"])
      std::cout << fmt::format("  {}/{}:{} -> {} (since {})\n", str(t, "upstream"), str(t, "repo"),
                               str(t, "tag"), str(t, "digest").substr(0, 19), str(t, "noticed_at"));
  }
  if (!s.value("oci_sources", json::array()).empty()) print_oci_sources(s["oci_sources"]);
  if (s.contains("cluster")) print_cluster(s["cluster"]);
  if (s.contains("nodes")) print_nodes(s["nodes"]);
  if (s.contains("object_store")) print_object_store(s["object_store"]);
  if (s.contains("metadata")) print_metadata(s["metadata"]);
  const auto& st = s["store"];
  std::cout << fmt::format("\nStore\n  {} stored, {} pinned by releases, {} evictable\n",
                           human_bytes(st.value("bytes", std::uint64_t{0})),
                           human_bytes(st.value("pinned_bytes", std::uint64_t{0})),
                           human_bytes(st.value("evictable_bytes", std::uint64_t{0})));
  if (st.contains("fs_used_fraction"))
    std::cout << fmt::format("  disk {:.1f}% used (GC from {:.0f}% to {:.0f}%)\n",
                             100 * st["fs_used_fraction"].get<double>(),
                             100 * st.value("gc_high_watermark", 0.0),
                             100 * st.value("gc_low_watermark", 0.0));
  const auto& errors = s["errors"];
  if (!errors.empty()) {
    std::cout << "\nRecent warnings and errors\n";
    std::size_t from = errors.size() > 5 ? errors.size() - 5 : 0;
    for (std::size_t i = from; i < errors.size(); ++i)
      std::cout << "  " << errors[i].get<std::string>() << "\n";
  }
}

int run_status(const StatusArgs& a) {
  std::string server = a.server.value_or("");
  if (server.empty()) server = "http://" + load_config(a.config.path).listen;
  while (server.ends_with('/')) server.pop_back();
  http::CurlHttpClient client;
  http::ClientRequest req;
  req.url = server + "/api/v1/status";
  req.headers = a.token.headers();
  req.total_timeout = std::chrono::seconds(30);
  req.max_body = 64u << 20;  // a site's whole status: every upstream, repository and release
  req.body_name = "status document";
  auto r = client.perform(req, nullptr);
  if (!r || r->status != 200) {
    std::cerr << "outpost status: cannot read " << req.url << ": "
              << (r ? fmt::format("HTTP {}", r->status) : r.error().message) << "\n";
    return 2;
  }
  auto s = json::parse(r->body, nullptr, false);
  if (s.is_discarded() || !s.is_object() || !s.contains("readiness")) {
    std::cerr << "outpost status: " << req.url << " did not answer with a status document\n";
    return 2;
  }
  if (a.json)
    std::cout << s.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else
    print_human(s, server);
  return s["readiness"].value("ready", false) ? 0 : 1;
}

}  // namespace

Action setup_status(CLI::App& sub) {
  auto a = std::make_shared<StatusArgs>();
  a->config.add_to(sub);
  a->token.add_to(sub);
  sub.add_option(
      "--server", a->server,
      "Outpost URL (default: http://<listen> of the config, i.e. http://127.0.0.1:8080)");
  sub.add_flag("--json", a->json, "Print the status document as JSON (as GET /api/v1/status)");
  sub.footer(
      "Exit status: 0 when the site is offline-ready, 1 when it is not (the reasons are listed),\n"
      "2 when Outpost cannot be reached.");
  return [a] { return run_status(*a); };
}

}  // namespace outpost::cli
