// outpost doctor: run on a node, proves that the node's pulls go through Outpost. It reads the
// runtime's real configuration (nodes/runtime_config.hpp) and says, per upstream, whether a pull
// goes through Outpost and which file and line decide it; registers the node with Outpost; and
// pulls the canary (nodes/canary.hpp) through the runtime's own hosts configuration, which only
// Outpost can serve, then asks Outpost whether it saw that pull. Exit 0: every upstream goes
// through Outpost (and every canary arrived); 1: some upstream bypasses it or a canary failed;
// 2: it could not check (no configuration, Outpost unreachable).
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/node_api.hpp"
#include "core/process.hpp"
#include "http/client.hpp"
#include "nodes/runtime_config.hpp"

namespace outpost::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct DoctorArgs {
  std::vector<std::string> servers;
  std::vector<std::string> registries;
  std::string runtime = "auto";
  std::string containerd_config = "/etc/containerd/config.toml";
  std::string containerd_address = "/run/containerd/containerd.sock";
  std::string ctr = "ctr";  // containerd's client, for the canary
  std::string k3s_config = "/etc/rancher/k3s/registries.yaml";
  std::string crio_config = "/etc/containers/registries.conf";
  std::string crio_conf_d = "/etc/containers/registries.conf.d";
  std::string node_name;
  bool no_canary = false;
  bool no_register = false;
  TokenOption token;
};

// One call to the first Outpost's API.
Result<http::ClientResponse> api(const DoctorArgs& a, const std::string& method,
                                 const std::string& path) {
  return call_api(a.servers.front(), a.token, method, path);
}

// The registry upstreams Outpost mirrors, from its status document.
Result<std::vector<std::string>> outpost_registries(const DoctorArgs& a) {
  auto r = api(a, "GET", "/api/v1/status");
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return fail(Errc::upstream_error, fmt::format("HTTP {}", r->status));
  auto j = json::parse(r->body, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_discarded() && j.contains("upstreams") && j["upstreams"].is_array())
    for (const auto& u : j["upstreams"])
      if (u.value("kind", "") == "registry" && u.contains("name")) out.push_back(u["name"]);
  return out;
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

// The version `argv` prints ("containerd github.com/containerd/containerd 1.6.20 <rev>",
// "k3s version v1.28.3+k3s1 (…)", "crio version 1.28.1": the third word), or "" when it cannot
// run.
std::string version_of(std::vector<std::string> argv) {
  auto r = run_process({.argv = std::move(argv)}, std::chrono::seconds(10));
  if (!r || r->status != 0) return {};
  std::istringstream words(first_line(r->out));
  std::string w, third;
  for (int i = 0; i < 3 && words >> w; ++i) third = w;
  return third;
}

std::string random_tag() {
  std::random_device rd;
  return fmt::format("doctor-{:08x}{:08x}", rd(), rd());
}

std::string node_name(const DoctorArgs& a) {
  if (!a.node_name.empty()) return a.node_name;
  if (const char* n = std::getenv("NODE_NAME"); n && *n) return n;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string s(host);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The runtime to check: asked for, or the first whose configuration exists.
std::optional<nodes::RuntimeReport> read_runtime(const DoctorArgs& a,
                                                 const std::vector<std::string>& regs) {
  std::error_code ec;
  auto want = [&](const char* rt, const std::string& file) {
    return a.runtime == rt || (a.runtime == "auto" && fs::exists(file, ec));
  };
  if (want("containerd", a.containerd_config))
    return nodes::check_containerd(a.containerd_config, a.servers, regs);
  if (want("k3s", a.k3s_config)) return nodes::check_k3s(a.k3s_config, a.servers, regs);
  if (want("crio", a.crio_config) || (a.runtime == "auto" && fs::is_directory(a.crio_conf_d, ec)))
    return nodes::check_crio(a.crio_config, a.crio_conf_d, a.servers, regs);
  return std::nullopt;
}

void print_findings(const nodes::RuntimeReport& rep) {
  std::cout << fmt::format("{} configuration: {}\n", rep.runtime, rep.config_file);
  for (const auto& n : rep.notes) std::cout << "  note: " << n << "\n";
  for (const auto& f : rep.findings) {
    const auto where = f.line > 0 ? fmt::format("{}:{}", f.file, f.line) : f.file;
    std::cout << fmt::format(
        "  {} {:<20} {}\n      {}: {}\n", f.through ? "ok  " : "FAIL", f.upstream,
        f.through ? "pulls go through Outpost" : "BYPASSES Outpost", where, f.detail);
  }
}

// Pulls the canary under each upstream that goes through Outpost, with containerd's own hosts
// directory; then asks Outpost which of those pulls it saw. True when every one arrived.
bool canary(const DoctorArgs& a, const nodes::RuntimeReport& rep, const std::string& name,
            const std::string& tag) {
  std::vector<std::string> pulled;
  bool ok = true;
  for (const auto& f : rep.findings) {
    if (!f.through || f.hosts_dir.empty()) continue;
    const auto ref = fmt::format("{}/outpost-canary/pull:{}", f.upstream, tag);
    std::cout << fmt::format("  canary {} … ", ref) << std::flush;
    std::vector<std::string> argv{a.ctr, "-a", a.containerd_address, "-n", "outpost-doctor"};
    // The pull's resolve and download through the hosts directory, without unpacking or an
    // image record (the few KiB of content go with containerd's garbage collection).
    argv.insert(argv.end(), {"content", "fetch", "--hosts-dir", f.hosts_dir, ref});
    auto r = run_process({.argv = argv}, std::chrono::minutes(2));
    if (!r || r->status != 0) {
      std::cout << "FAILED: "
                << (r ? first_line(r->err.empty() ? r->out : r->err) : r.error().message) << "\n";
      ok = false;
      continue;
    }
    std::cout << "pulled\n";
    pulled.push_back(f.upstream);
  }
  if (pulled.empty()) return ok;
  auto r = api(a, "GET", "/api/v1/nodes/" + name);
  auto j = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  for (const auto& up : pulled) {
    bool seen = j.is_object() && j.value("canary_tag", "") == tag &&
                std::ranges::count(j.value("canary_upstreams", std::vector<std::string>{}), up);
    std::cout << fmt::format("  canary under {}: {}\n", up,
                             seen ? "seen by Outpost" : "NOT seen by Outpost (pulled elsewhere)");
    ok &= seen;
  }
  return ok;
}

int run(DoctorArgs& a) {
  for (auto& s : a.servers)
    while (s.ends_with('/')) s.pop_back();
  auto regs = a.registries;
  if (regs.empty()) {
    auto got = outpost_registries(a);
    if (!got || got->empty()) {
      std::cerr << "outpost doctor: cannot list the registries Outpost mirrors from "
                << a.servers.front() << "/api/v1/status ("
                << (got ? "none configured" : got.error().message) << "); give --registries\n";
      return 2;
    }
    regs = *got;
  }
  auto rep = read_runtime(a, regs);
  if (!rep) {
    std::cerr << "outpost doctor: no containerd, k3s or CRI-O configuration found (looked at "
              << a.containerd_config << ", " << a.k3s_config << ", " << a.crio_config << ")\n";
    return 2;
  }
  if (!rep->error.empty()) {
    std::cerr << "outpost doctor: " << rep->error << "\n";
    return 2;
  }
  print_findings(*rep);
  const auto name = node_name(a);
  const auto tag = random_tag();
  std::vector<std::string> bypassing;
  for (const auto& f : rep->findings)
    if (!f.through) bypassing.push_back(f.upstream);
  const auto version = rep->runtime == "containerd" ? version_of({"containerd", "--version"})
                       : rep->runtime == "k3s"      ? version_of({"k3s", "--version"})
                                                    : version_of({"crio", "--version"});
  if (!a.no_register) {
    json body = {{"name", name},
                 {"runtime", rep->runtime},
                 {"runtime_version", version},
                 {"reported_by", "doctor"},
                 {"canary_tag", tag},
                 {"bypassing", bypassing}};
    if (auto r = register_node(a.servers.front(), a.token, body); !r) {
      std::cerr << "outpost doctor: cannot register node " << name << " with " << a.servers.front()
                << ": " << r.error().message << "\n";
      return 2;
    }
    std::cout << fmt::format("registered node {} with {}\n", name, a.servers.front());
  }
  bool ok = bypassing.empty();
  if (!a.no_canary && rep->runtime == "containerd") ok &= canary(a, *rep, name, tag);
  if (!a.no_canary && rep->runtime != "containerd")
    std::cout << "  canary: pulled only with containerd's hosts directories (use --no-canary)\n";
  std::cout << (ok ? "every upstream goes through Outpost\n"
                   : fmt::format("{} upstream(s) bypass Outpost or failed the canary\n",
                                 bypassing.empty() ? 1 : bypassing.size()));
  return ok ? 0 : 1;
}

}  // namespace

Action setup_doctor(CLI::App& sub) {
  auto a = std::make_shared<DoctorArgs>();
  sub.add_option("--server", a->servers,
                 "Outpost's URL as this node reaches it (repeat, or comma-separated, for each "
                 "replica of a site cluster); the first is asked")
      ->required()
      ->delimiter(',');
  sub.add_option("--registries", a->registries,
                 "Registries to check (default: those Outpost mirrors, from its status)")
      ->delimiter(',');
  sub.add_option("--runtime", a->runtime,
                 "containerd | k3s | crio | auto (default: the first found)");
  sub.add_option("--containerd-config", a->containerd_config, "containerd's config.toml");
  sub.add_option("--containerd-address", a->containerd_address,
                 "containerd's socket, for the canary pull");
  sub.add_option("--ctr", a->ctr, "containerd's ctr client, for the canary (default: ctr in PATH)");
  sub.add_option("--k3s-config", a->k3s_config, "k3s/RKE2 registries.yaml");
  sub.add_option("--crio-config", a->crio_config, "CRI-O/podman registries.conf");
  sub.add_option("--crio-conf-d", a->crio_conf_d, "its drop-in directory");
  sub.add_option("--node-name", a->node_name,
                 "The node's name in Outpost (default: $NODE_NAME, else the host name)");
  sub.add_flag("--no-canary", a->no_canary, "Check the configuration only; pull no canary");
  sub.add_flag("--no-register", a->no_register, "Do not register the node with Outpost");
  a->token.add_to(sub);
  sub.footer(
      "Exit 0: every upstream's pulls go through Outpost and each canary pull reached it;\n"
      "1: some upstream bypasses Outpost (the file and line to fix are printed) or a canary\n"
      "failed; 2: nothing could be checked. As a DaemonSet's init container, mount the host's\n"
      "/etc/containerd and /run/containerd and pass --node-name=$(NODE_NAME).");
  return [a] { return run(*a); };
}

}  // namespace outpost::cli
