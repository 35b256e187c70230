#include "git/config.hpp"

#include <fmt/format.h>

#include "upstream/config_keys.hpp"

namespace outpost::config {
namespace {

const KeyTable<GitGateConfig>& gate_keys() {
  using G = GitGateConfig;
  static const KeyTable<G> keys{
      config::string_key("repo", &G::repo),
      {"mode",
       [](const Section& s, std::string_view k, G& gate) {
         std::string mode;
         s.str(k, mode);
         if (mode == "images")
           gate.mode = GateMode::images;
         else if (mode == "bundle")
           gate.mode = GateMode::bundle;
         else
           bad(s.origin(), s.key(k), "must be images or bundle");
       }},
      {"paths", [](const Section& s, std::string_view k,
                   G& gate) { gate.paths = s.strings(k, "directories"); }},
      config::string_key("release_file", &G::release_file),
  };
  return keys;
}

GitGateConfig gate_config(const Section& g) {
  GitGateConfig gate;
  read_keys(g, gate_keys(), gate);
  if (!g.has("mode")) bad(g.origin(), g.key("mode"), "must be images or bundle");
  if (gate.repo.empty() || gate.repo.find('/') == std::string::npos)
    bad(g.origin(), g.key("repo"), "must be <host>/<path>, e.g. github.com/org/manifests");
  while (gate.repo.ends_with(".git")) gate.repo.resize(gate.repo.size() - 4);
  if (gate.paths.empty()) gate.paths.push_back(".");
  return gate;
}

const KeyTable<PackCacheConfig>& pack_cache_keys() {
  using P = PackCacheConfig;
  static const KeyTable<P> t{
      config::bool_key("enabled", &P::enabled),
      config::integer_key("max_bytes", &P::max_bytes, std::uint64_t{0}),
      config::duration_key("ttl", &P::ttl),
      config::integer_key("min_requests", &P::min_requests, 1),
  };
  return t;
}

}  // namespace

const KeyTable<GitConfig>& git_keys() {
  using G = GitConfig;
  static const KeyTable<G> t{
      config::duration_key("sync_interval", &G::sync_interval),
      config::duration_key("request_refresh_budget", &G::request_refresh_budget),
      config::duration_key("sync_timeout", &G::sync_timeout),
      config::duration_key("probe_timeout", &G::probe_timeout),
      config::duration_key("stall_timeout", &G::stall_timeout),
      config::duration_key("breaker_min_backoff", &G::breaker_min_backoff),
      config::duration_key("breaker_max_backoff", &G::breaker_max_backoff),
      config::integer_key("max_parallel_syncs", &G::max_parallel_syncs, 1),
      config::integer_key("max_upload_packs", &G::max_upload_packs, 1),
      config::integer_key("max_request_bytes", &G::max_request_bytes, std::size_t{65536}),
      {"public_url",
       [](const Section& s, std::string_view k, G& g) {
         s.str(k, g.public_url);
         while (g.public_url.ends_with('/')) g.public_url.pop_back();
       }},
      config::string_key("argocd_webhook", &G::argocd_webhook),
      {"webhook_secret_file",
       [](const Section& s, std::string_view k, G& g) {
         std::string file;
         s.str(k, file);
         if (!file.empty()) g.webhook_secret = read_secret_file(s.origin(), s.key(k), file);
       }},
      config::section_key("pack_cache", &G::pack_cache, pack_cache_keys),
      host_upstreams_key<G>("git"),
      config::list_of(Key<G>{"gating",
                             [](const Section& s, std::string_view k, G& g) {
                               s.sections(k, [&](const Section& e, std::size_t) {
                                 g.gating.push_back(gate_config(e));
                               });
                             }},
                      gate_keys),
  };
  return t;
}

}  // namespace outpost::config

namespace outpost {

const HostUpstreamConfig* GitConfig::find(std::string_view host) const {
  for (const auto& u : upstreams)
    if (u.host == host) return &u;
  return nullptr;
}

}  // namespace outpost
