#include <spdlog/spdlog.h>
#include "cli/metric_defs.hpp"

#include <iostream>
#include <memory>

#include "bundle/api.hpp"
#include "bundle/fanout.hpp"
#include "bundle/jobs.hpp"
#include "bundle/upload.hpp"
#include "cli/commands.hpp"
#include "cluster/cluster.hpp"
#include "config/config.hpp"
#include "core/fd_limit.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "gate/gate.hpp"
#include "git/cache.hpp"
#include "git/handlers.hpp"
#include "helm/handlers.hpp"
#include "http/auth.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "nodes/handlers.hpp"
#include "nodes/metrics.hpp"
#include "nodes/node_book.hpp"
#include "registry/handlers.hpp"
#include "registry/inventory.hpp"
#include "registry/mirror.hpp"
#include "registry/oci_error.hpp"
#include "sources/handlers.hpp"
#include "status/handlers.hpp"
#include "store/blob_store.hpp"
#include "store/gc.hpp"
#include "store/meta_db.hpp"
#include "store/meta_hub.hpp"
#include "tier/bucket_gc.hpp"
#include "tier/metric_defs.hpp"
#include "tier/object_tier.hpp"

namespace outpost::cli {
namespace {

// What the routes serve.
struct Parts {
  const Config& cfg;
  BlobStore& store;
  MetaDb& db;
  Metrics& metrics;
  registry::Mirror& mirror;
  git::GitService& git_service;
  helm::HelmCache& helm_cache;
  bundle::ReleaseJobs& releases;
  bundle::ReleaseFanout& fanout;
  bundle::Uploads& uploads;
  status::Sources& site;
  nodes::NodeBook& nodes;
  sources::OciSources& oci;
};

// /readyz: ready when the store can take writes (tmp/ exists and is writable) and, in a hub
// replica, once the metadata database has answered since start: a replica that never reached it
// knows nothing the others do not. A later outage keeps it ready (every replica serves from its
// local read copy then; taking them all out of the Service would serve nothing).
http::Response readiness_probe(const BlobStore& store, const MetaDb& db) {
  if (::access(store.tmp_dir().c_str(), W_OK) != 0)
    return http::Response::text(503, "store not writable\n");
  auto sh = db.sharing();
  if (sh && !sh->reached)
    return http::Response::text(503, "metadata database not reached yet: " + sh->last_error + "\n");
  std::string body = "ready\n";
  if (sh) body += sh->up ? "metadata: postgres up\n" : "metadata: postgres down\n";
  return http::Response::text(200, body);
}

void add_routes(http::Server& server, Parts p) {
  const Config& cfg = p.cfg;
  BlobStore& store = p.store;
  MetaDb& db = p.db;
  Metrics& metrics = p.metrics;
  registry::Mirror& mirror = p.mirror;
  git::GitService& git_service = p.git_service;
  helm::HelmCache& helm_cache = p.helm_cache;
  bundle::ReleaseJobs& releases = p.releases;
  bundle::ReleaseFanout& fanout = p.fanout;
  bundle::Uploads& uploads = p.uploads;
  status::Sources& site = p.site;
  nodes::NodeBook& nodes = p.nodes;
  sources::OciSources& oci = p.oci;
  // The one route table: path prefix, metrics label, auth group (Access), where it runs.
  using http::Access;
  const auto reader = Access::only(AuthGroup::status);
  const auto api = Access{AuthGroup::status, AuthGroup::admin};

  server.set_error_responder([](int status, std::string msg) {
    return registry::oci_error(
        status, status == 431 || status == 413 ? "SIZE_INVALID" : "UNSUPPORTED", msg);
  });
  // Registry, Git and Helm requests are tiered: what local state can answer never waits for a
  // thread held by an upstream wait.
  server.route("/v2", "registry", Access::only(AuthGroup::registry),
               [&](const http::Request& req, http::Reach reach) {
                 return registry::handle_v2(mirror, cfg.registry, req, reach, &nodes);
               });
  server.route(
      "/git/", "git", Access::only(AuthGroup::git),
      [&](const http::Request& req, http::Reach reach) {
        return git_service.handle_git(req, reach);
      },
      cfg.git.max_request_bytes);
  server.route("/helm/", "helm", Access::only(AuthGroup::git),
               [&](const http::Request& req, http::Reach reach) {
                 return helm::handle_helm(helm_cache, cfg.helm, req, reach);
               });
  server.route("/api/v1/git/webhook", "api", Access::only(AuthGroup::webhook), http::Runs::upstream,
               [&](const http::Request& req) { return git_service.handle_webhook(req); });
  server.route("/api/v1/cluster/git-sync", "api", Access::only(AuthGroup::admin), http::Runs::local,
               [&](const http::Request& req) { return git_service.handle_peer_sync(req); });
  server.route("/api/v1/git/repos", "api", api, http::Runs::local,
               [&](const http::Request& req) { return git_service.handle_repos(req); });
  server.route("/api/v1/releases", "api", api, http::Runs::upstream, [&](const http::Request& req) {
    return bundle::handle_releases(releases, &fanout, req);
  });
  // Read-only (the check too): the status group may ask what the site holds.
  server.route("/api/v1/images", "api", Access::only(AuthGroup::status), http::Runs::api,
               [&](const http::Request& req) {
                 return registry::handle_images(cfg.registry, db, store, req);
               });
  server.route(
      "/api/v1/uploads/", "api", Access::only(AuthGroup::admin), http::Runs::upstream,
      [&](const http::Request& req) {
        return bundle::handle_uploads(uploads, releases, &fanout, req);
      },
      bundle::kUploadChunkBytes + 4096);
  server.route("/healthz", "health", reader, http::Runs::inline_io,
               [](const http::Request&) { return http::Response::text(200, "ok\n"); });
  server.route("/readyz", "health", reader, http::Runs::inline_io,
               [&](const http::Request&) { return readiness_probe(store, db); });
  server.route("/metrics", "metrics", reader, http::Runs::local, [&](const http::Request&) {
    return http::Response::text(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  // Nodes register with the credentials they pull with; reading the list is the status group's.
  server.route(
      "/api/v1/nodes", "api", Access{AuthGroup::status, AuthGroup::registry}, http::Runs::api,
      [&](const http::Request& req) { return nodes::handle_nodes(nodes, cfg.nodes, req); });
  server.route("/api/v1/sources", "api", api, http::Runs::api,
               [&](const http::Request& req) { return sources::handle_sources(oci, req); });
  server.route("/api/v1/status", "api", api, http::Runs::api,
               [&](const http::Request& req) { return status::handle_status(site, req); });
  server.route("/api/v1/readiness", "api", api, http::Runs::api,
               [&](const http::Request& req) { return status::handle_readiness(site, req); });
  server.route("/", "ui", reader, http::Runs::inline_io,
               [](const http::Request& req) { return status::handle_page(req); });
}

// process_open_fds and process_max_fds, as every Prometheus client library exports them.
void register_process_metrics(Metrics& metrics) {
  auto& open = metrics.gauge(metric::process_open_fds);
  auto& max = metrics.gauge(metric::process_max_fds);
  metrics.add_collector([&open, &max] {
    if (auto n = open_fds()) open.set({}, static_cast<double>(*n));
    max.set({}, static_cast<double>(max_fds()));
  });
}

// storage.s3: the bucket behind the local store (tier/object_tier.hpp). Refused credentials or a
// missing bucket stop the start with S3's error; an unreachable S3 does not (the hot tier serves
// and uploads wait). nullptr without storage.s3.
std::unique_ptr<tier::ObjectTier> object_tier(const Config& cfg, http::HttpClient& client,
                                              BlobStore& store, Metrics& metrics) {
  if (!cfg.storage.s3.enabled()) return nullptr;
  auto t = std::make_unique<tier::ObjectTier>(cfg.storage.s3, client, store,
                                              cfg.data_dir / "s3-queue", metrics);
  if (auto ok = t->check(); !ok) {
    if (ok.error().code == Errc::unauthorized || ok.error().code == Errc::not_found)
      throw ConfigError("storage.s3: " + ok.error().message);
    spdlog::warn(
        "object store unreachable at start ({}): serving from the local store, uploads "
        "wait",
        ok.error().message);
  }
  auto& queue = metrics.gauge(tier::metric::upload_queue);
  auto& up = metrics.gauge(tier::metric::object_store_up);
  metrics.add_collector([&queue, &up, t = t.get()] {
    queue.set({}, static_cast<double>(t->waiting()));
    up.set({}, t->source().breaker().is_open() ? 0 : 1);
  });
  spdlog::info("object store: bucket {} at {} (prefix '{}'); {} blobs wait for upload",
               cfg.storage.s3.bucket, cfg.storage.s3.endpoint, cfg.storage.s3.prefix, t->waiting());
  return t;
}

// How clients reach this Outpost's registry, as the followed sources' notifications name it:
// sources.public_url, else git.public_url, else the listen address; without the scheme.
std::string public_host(const Config& cfg) {
  std::string url = !cfg.sources.public_url.empty() ? cfg.sources.public_url
                    : !cfg.git.public_url.empty()   ? cfg.git.public_url
                                                    : cfg.listen;
  if (auto at = url.find("://"); at != std::string::npos) url.erase(0, at + 3);
  while (url.ends_with('/')) url.pop_back();
  return url;
}

int serve(const Config& cfg) {
  setup_logging(cfg.log);
  if (auto fds = raise_fd_limit(); fds.now != fds.before)
    spdlog::info("raised the descriptor limit from {} to {} (the hard limit)", fds.before, fds.now);
  std::filesystem::create_directories(cfg.data_dir);
  BlobStore store(cfg.data_dir);
  if (auto n = store.sweep_tmp()) spdlog::info("removed {} unfinished downloads from tmp/", n);
  MetaDb db(cfg.data_dir / "meta.db");
  Metrics metrics;
  std::unique_ptr<MetaHub> shared_meta;  // metadata.postgres: a hub replica's shared metadata
  if (cfg.metadata.postgres.enabled())
    shared_meta = std::make_unique<MetaHub>(cfg.metadata.postgres, db, metrics);
  http::CurlHttpClient client;
  cluster::Cluster cluster(cfg.cluster, cfg.auth, client);
  registry::Mirror mirror(cfg.registry, store, db, client, metrics, Clock::system(), &cluster);
  auto objects = object_tier(cfg, client, store, metrics);
  git::PackCache packs(cfg.git.pack_cache, cfg.data_dir / "git-packs", metrics);
  WatermarkGc gc(cfg.storage, cfg.data_dir, store, db,
                 [&](std::uint64_t bytes) { return packs.evict(bytes); });
  if (objects) {
    if (shared_meta) objects->share_uploads(shared_meta->meta());
    store.set_on_published([t = objects.get()](const Digest& d) { t->upload_later(d); });
    mirror.set_object_tier(objects.get());
    gc.set_hot_tier({[t = objects.get()](const Digest& d) { return t->waiting_for(d); }});
    objects->start();
  }
  // The shared bucket's GC: with both backends shared; one replica at a time runs it.
  std::unique_ptr<tier::BucketGcLoop> bucket_gc;
  if (objects && shared_meta && cfg.storage.s3.gc_interval.count() > 0)
    bucket_gc = std::make_unique<tier::BucketGcLoop>(
        shared_meta->meta(), objects->client(), cfg.storage.s3.gc_interval,
        tier::BucketGcOptions{
            std::chrono::duration_cast<std::chrono::seconds>(cfg.storage.s3.gc_grace)});
  bundle::ReleaseJobs releases(cfg, store, db, client, mirror);
  bundle::ReleaseFanout fanout(releases, cluster);
  bundle::Uploads uploads(cfg.data_dir / "uploads");
  git::GitCache git_cache(cfg.git, cfg.data_dir, db, client, metrics, [&](const git::RepoId& id) {
    return gate::make_gate(cfg.git, cfg.registry, id, mirror, releases);
  });
  git_cache.set_cluster(&cluster);
  git::GitService git_service(git_cache, cfg.git, metrics, &packs);
  helm::HelmCache helm_cache(cfg.helm, cfg.data_dir, store, db, client, metrics);
  helm_cache.set_cluster(&cluster);
  http::Server server(cfg.server, metrics);
  http::Authorizer auth(cfg.auth, cfg.git.webhook_secret, cfg.cluster.enabled());
  server.set_guard([&](http::Request& req, AuthGroup g) { return auth.check(req, g); });
  nodes::NodeBook node_book(cfg.nodes, cfg.data_dir / "nodes.json");
  nodes::register_metrics(metrics, node_book);
  sources::OciSources oci({cfg.sources, cfg.registry, public_host(cfg), mirror, store, db, client,
                           metrics, cfg.data_dir / "oci-sources.json"});
  mirror.set_sources(&oci);
  status::Sources site{cfg,      mirror,  git_cache, helm_cache, releases,      store, db,
                       &cluster, &fanout, &packs,    &node_book, objects.get(), &oci};
  status::register_metrics(metrics, site);
  register_process_metrics(metrics);
  add_routes(server, {cfg, store, db, metrics, mirror, git_service, helm_cache, releases, fanout,
                      uploads, site, node_book, oci});

  auto addr = parse_listen(cfg.listen);
  auto port = server.listen(addr);
  spdlog::info("outpost {} serving on {}:{} (data {}; {} registry upstreams, default {})",
               OUTPOST_VERSION, addr.host, port, cfg.data_dir.string(),
               cfg.registry.upstreams.size(), cfg.registry.default_upstream);
  cluster.start();
  oci.start();
  server.run([&] {
    oci.stop_soon();
    fanout.stop();
    cluster.stop();
    mirror.stop();
    oci.stop();
    git_cache.stop();
    helm_cache.stop();
    releases.stop();
    if (objects) objects->stop();
  });
  spdlog::info("stopped");
  return 0;
}

}  // namespace

Action setup_serve(CLI::App& sub) {
  auto opt = std::make_shared<ConfigOption>();
  auto check = std::make_shared<bool>(false);
  opt->add_to(sub);
  sub.add_flag("--check-config", *check, "Validate the configuration and exit (0 when valid)");
  sub.footer(
      "With no --config: data in ./outpost-data, listens on 127.0.0.1:8080, mirrors docker.io,\n"
      "ghcr.io, quay.io and registry.k8s.io. Environment overrides: OUTPOST_LISTEN,\n"
      "OUTPOST_DATA_DIR, OUTPOST_LOG_FORMAT (text|json), OUTPOST_LOG_LEVEL.");
  return [opt, check] {
    Config cfg = load_config(opt->path);
    if (*check) {
      std::cout << "config OK: listen " << cfg.listen << ", data_dir " << cfg.data_dir.string()
                << ", " << cfg.registry.upstreams.size() << " registry and "
                << cfg.git.upstreams.size() << " git upstreams\n";
      return 0;
    }
    return serve(cfg);
  };
}

}  // namespace outpost::cli
