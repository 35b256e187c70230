#include "git/mirror.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/encoding.hpp"
#include "core/process.hpp"
#include "git/handlers.hpp"
#include "git/pkt_line.hpp"

namespace outpost::git {
namespace fs = std::filesystem;
namespace {

// The last meaningful line of git's stderr, for errors people read.
std::string tail_line(const std::string& err) {
  std::string s = err;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  auto nl = s.find_last_of('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

constexpr const char* kMirrorConfig = R"(
[remote "origin"]
	fetch = +refs/heads/*:refs/heads/*
	fetch = +refs/tags/*:refs/tags/*
	tagOpt = --no-tags
[uploadpack]
	# old tips kept under refs/outpost/ stay fetchable by SHA (v0 checks wants against
	# advertised tips only, so "any SHA" is what keeps a force-pushed commit reachable)
	hideRefs = refs/outpost/
	allowReachableSHA1InWant = true
	allowFilter = true
	allowAnySHA1InWant = true
[gc]
	auto = 0
	pruneExpire = never
	reflogExpire = never
	reflogExpireUnreachable = never
[core]
	logAllRefUpdates = false
[fetch]
	unpackLimit = 1
[repack]
	writeBitmaps = true
[transfer]
	hideRefs = refs/outpost/
)";

}  // namespace

GitMirror::GitMirror(RepoId id, fs::path dir, fs::path staging_root,
                     const HostUpstreamConfig& upstream, const GitConfig& cfg)
    : id_(std::move(id)),
      dir_(std::move(dir)),
      staging_root_(std::move(staging_root)),
      upstream_(upstream),
      cfg_(cfg) {}

std::string GitMirror::upstream_url() const {
  return git::upstream_url(upstream_, id_);
}

bool GitMirror::cloned() const {
  std::error_code ec;
  return fs::exists(dir_ / "HEAD", ec);
}

std::vector<std::string> GitMirror::git_env() const {
  std::vector<std::string> env = {"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
                                  "GIT_ASKPASS=/bin/false", "GIT_SSH_COMMAND=/bin/false"};
  int n = 0;
  auto add = [&](const std::string& k, const std::string& v) {
    env.push_back(fmt::format("GIT_CONFIG_KEY_{}={}", n, k));
    env.push_back(fmt::format("GIT_CONFIG_VALUE_{}={}", n, v));
    ++n;
  };
  // Credentials travel in the environment (not argv, not the repo config), scoped to the
  // upstream URL so git never sends them to another host.
  if (!upstream_.username.empty()) {
    add(fmt::format("http.{}/.extraHeader", upstream_.url),
        "Authorization: Basic " + base64_encode(upstream_.username + ":" + upstream_.password));
  }
  if (upstream_.insecure) add("http.sslVerify", "false");
  add("http.lowSpeedLimit", "1000");
  add("http.lowSpeedTime", std::to_string(std::max<long>(1, cfg_.stall_timeout.count() / 1000)));
  add("protocol.version", "2");
  env.push_back(fmt::format("GIT_CONFIG_COUNT={}", n));
  return env;
}

Result<std::string> GitMirror::git_output(const fs::path& repo,
                                          const std::vector<std::string>& args) const {
  SpawnOptions o;
  o.argv = {"git", "-C", repo.string()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = git_env();
  auto r = run_process(o, std::chrono::seconds(60));
  if (!r) return std::unexpected(r.error());
  if (r->status != 0)
    return fail(Errc::not_found, "git " + args.front() + ": " + tail_line(r->err));
  return r->out;
}

std::string GitMirror::gate_updates(const fs::path& repo,
                                    const std::map<std::string, std::string>& advertised,
                                    const std::map<std::string, std::string>& upstream,
                                    std::vector<PendingRef>& pending) {
  std::string script;
  std::map<std::string, GateResult> verdicts;  // per commit, once per sync
  for (const auto& [name, sha] : upstream) {
    auto it = advertised.find(name);
    if (it != advertised.end() && it->second == sha) continue;
    auto v = verdicts.find(sha);
    if (v == verdicts.end()) v = verdicts.emplace(sha, gate_(*this, repo, sha)).first;
    if (v->second.ready) {
      script += fmt::format("update {} {}\n", name, sha);
    } else {
      pending.push_back({name, sha, v->second.waiting_for});
    }
  }
  for (const auto& [name, sha] : advertised)
    if (!upstream.contains(name)) script += fmt::format("delete {}\n", name);
  return script;
}

Result<std::map<std::string, std::string>> GitMirror::list_refs(
    const fs::path& repo, const std::vector<std::string>& prefixes) {
  SpawnOptions o;
  o.argv = {"git", "-C", repo.string(), "for-each-ref", "--format=%(objectname) %(refname)"};
  o.argv.insert(o.argv.end(), prefixes.begin(), prefixes.end());
  o.env = git_env();
  auto r = run_process(o, std::chrono::seconds(60));
  if (!r) return std::unexpected(r.error());
  if (r->status != 0) return fail(Errc::io, "git for-each-ref: " + tail_line(r->err));
  std::map<std::string, std::string> refs;
  std::istringstream in(r->out);
  std::string sha, name;
  while (in >> sha >> name) refs[name] = sha;
  return refs;
}

Result<void> GitMirror::init_staging(const fs::path& staging) {
  SpawnOptions o;
  o.argv = {"git", "init", "--bare", "--quiet", staging.string()};
  o.env = git_env();
  auto r = run_process(o, std::chrono::seconds(60));
  if (!r) return std::unexpected(r.error());
  if (r->status != 0) return fail(Errc::io, "git init: " + tail_line(r->err));
  std::ofstream cfg(staging / "config", std::ios::app);
  cfg << kMirrorConfig << "[remote \"origin\"]\n\turl = " << upstream_url() << "\n";
  if (!cfg) return fail(Errc::io, "writing mirror config");
  return {};
}

Result<SyncOutcome> GitMirror::sync(const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  if (syncing_) {  // single-flight: join the running sync
    auto gen = sync_gen_;
    cv_.wait(lock, [&] { return sync_gen_ != gen; });
    return *last_;
  }
  syncing_ = true;
  status_.last_attempt = std::chrono::system_clock::now();
  lock.unlock();
  auto r = run_sync(stop);
  lock.lock();
  syncing_ = false;
  ++sync_gen_;
  last_ = r;
  if (r) {
    status_.last_success = std::chrono::system_clock::now();
    status_.last_error.clear();
    if (!r->moved.empty()) {
      adverts_.clear();
      ++refs_gen_;
    }
  } else {
    status_.last_error = r.error().message;
  }
  cv_.notify_all();
  return r;
}

std::uint64_t GitMirror::sync_generation() const {
  std::lock_guard lock(mu_);
  return sync_gen_;
}

bool GitMirror::wait_sync_after(std::uint64_t gen, std::chrono::milliseconds budget) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, budget, [&] { return sync_gen_ != gen; });
}

bool GitMirror::syncing() const {
  std::lock_guard lock(mu_);
  return syncing_;
}

Result<SyncOutcome> GitMirror::run_sync(const std::atomic<bool>& stop) {
  const bool first = !cloned();
  fs::path repo = dir_;
  fs::path staging;
  std::error_code ec;
  if (first) {
    // An initial clone is built aside and renamed into place only when complete, so a failed or
    // interrupted clone never leaves a half-mirror that would be served.
    fs::create_directories(staging_root_, ec);
    staging = staging_root_ / fmt::format("{}-{}", ::getpid(), std::hash<std::string>()(id_.key()));
    fs::remove_all(staging, ec);
    if (auto r = init_staging(staging); !r) return std::unexpected(r.error());
    repo = staging;
    spdlog::info("git: cloning {} from {}", id_.key(), upstream_url());
  }
  auto before = list_refs(repo);
  if (!before) return std::unexpected(before.error());

  SpawnOptions fetch;
  fetch.argv = {"git",     "-C",      repo.string(),           "fetch", "--prune",
                "--force", "--quiet", "--no-write-fetch-head", "origin"};
  if (gate_) {  // upstream's refs land aside; advertised refs move only through the gate
    // no opportunistic updates through the configured refspecs: only these destinations change
    fetch.argv.insert(fetch.argv.end() - 1, "--refmap=");
    fetch.argv.push_back("+refs/heads/*:refs/outpost/upstream/heads/*");
    fetch.argv.push_back("+refs/tags/*:refs/outpost/upstream/tags/*");
  }
  fetch.env = git_env();
  auto r = run_process(fetch, cfg_.sync_timeout, &stop);
  if (!r || r->status != 0) {
    if (first) fs::remove_all(staging, ec);
    if (!r) return std::unexpected(r.error());
    return fail(Errc::upstream_unavailable, "git fetch: " + tail_line(r->err));
  }

  // Follow upstream's default branch so HEAD (and its symref) matches it.
  SpawnOptions head;
  head.argv = {"git", "-C", repo.string(), "ls-remote", "--symref", "origin", "HEAD"};
  head.env = git_env();
  std::string head_target;
  if (auto h = run_process(head, std::chrono::seconds(60), &stop); h && h->status == 0) {
    std::istringstream in(h->out);
    std::string word, target;
    if (in >> word >> target && word == "ref:" && target.starts_with("refs/heads/")) {
      head_target = target;
      SpawnOptions set;
      set.argv = {"git", "-C", repo.string(), "symbolic-ref", "HEAD", target};
      set.env = git_env();
      (void)run_process(set, std::chrono::seconds(30));
    }
  }

  std::vector<PendingRef> pending;
  if (gate_) {
    auto up = list_refs(repo, {"refs/outpost/upstream/"});
    if (!up) return std::unexpected(up.error());
    std::map<std::string, std::string> upstream;
    const std::string prefix = "refs/outpost/upstream/";
    for (const auto& [name, sha] : *up) upstream["refs/" + name.substr(prefix.size())] = sha;
    auto advance = gate_updates(repo, *before, upstream, pending);
    if (!pending.empty())
      spdlog::info("git: {} holds back {} ref(s): {} waits for {}", id_.key(), pending.size(),
                   pending.front().ref, pending.front().waiting_for);
    if (!advance.empty()) {
      if (auto a = apply_ref_script(repo, advance); !a) return std::unexpected(a.error());
    }
  }
  auto after = list_refs(repo);
  if (!after) return std::unexpected(after.error());
  SyncOutcome out;
  std::string keep;  // update-ref --stdin script: old tips that moved or vanished
  for (const auto& [name, sha] : *before) {
    auto it = after->find(name);
    if (it == after->end() || it->second != sha) {
      keep += fmt::format("update refs/outpost/retained/{} {}\n", sha, sha);
      out.moved.push_back({name, sha, it == after->end() ? "" : it->second});
    }
  }
  for (const auto& [name, sha] : *after)
    if (!before->contains(name)) out.moved.push_back({name, "", sha});
  if (!keep.empty()) {
    if (auto u = apply_ref_script(repo, keep); !u)
      spdlog::error("git: could not retain old tips of {}: {}", id_.key(), u.error().message);
  }
  maintain(repo, first, !out.moved.empty(), stop);
  if (first) {
    fs::create_directories(dir_.parent_path(), ec);
    fs::rename(staging, dir_, ec);
    if (ec) {
      fs::remove_all(staging, ec);
      return fail(Errc::io, "publishing mirror: " + ec.message());
    }
    spdlog::info("git: cloned {} ({} refs)", id_.key(), after->size());
  }
  {
    std::lock_guard lock(mu_);
    status_.ref_count = after->size();
    status_.pending = pending;
    if (!head_target.empty()) status_.head = head_target;
    if (auto it = after->find(status_.head); it != after->end()) status_.head_commit = it->second;
    if (first) out.moved.push_back({"HEAD", "", head_target});  // force advert refresh
  }
  return out;
}

Result<void> GitMirror::apply_ref_script(const fs::path& repo, const std::string& script) {
  UniqueFd in(::memfd_create("update-ref", MFD_CLOEXEC));
  if (!in ||
      ::write(in.get(), script.data(), script.size()) != static_cast<ssize_t>(script.size()) ||
      ::lseek(in.get(), 0, SEEK_SET) != 0)
    return fail(Errc::io, "buffering update-ref input");
  SpawnOptions upd;
  upd.argv = {"git", "-C", repo.string(), "update-ref", "--stdin"};
  upd.env = git_env();
  upd.stdin_fd = in.get();
  auto u = run_process(upd, std::chrono::seconds(60));
  if (!u) return std::unexpected(u.error());
  if (u->status != 0) return fail(Errc::io, "git update-ref: " + tail_line(u->err));
  return {};
}

void GitMirror::maintain(const fs::path& repo, bool first, bool refs_moved,
                         const std::atomic<bool>& stop) {
  // Serving speed depends on the repository's shape: packed refs (one file instead of thousands
  // of loose ones per upload-pack) and one pack with a reachability bitmap. Nothing is ever
  // pruned: -k keeps unreachable objects in the new pack.
  auto git = [&](std::vector<std::string> args, const char* what) {
    SpawnOptions o;
    o.argv = {"git", "-C", repo.string()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = git_env();
    auto r = run_process(o, cfg_.sync_timeout, &stop);
    if (!r || r->status != 0)
      spdlog::warn("git: {} of {} failed: {}", what, id_.key(),
                   r ? tail_line(r->err) : r.error().message);
  };
  if (refs_moved) git({"pack-refs", "--all"}, "pack-refs");
  std::size_t packs = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(repo / "objects" / "pack", ec))
    if (e.path().extension() == ".pack") ++packs;
  if (first || packs > 8) git({"repack", "-a", "-d", "-k", "-b", "-q"}, "repack");
}

Result<std::shared_ptr<const std::string>> GitMirror::info_refs_body(int version) {
  std::uint64_t gen;
  {
    std::lock_guard lock(mu_);
    if (auto it = adverts_.find(version); it != adverts_.end()) return it->second;
    gen = refs_gen_;
  }
  SpawnOptions o;
  o.argv = {"git", "upload-pack", "--strict", "--stateless-rpc", "--advertise-refs", dir_.string()};
  o.env = serving_env();
  if (version == 2) o.env.push_back("GIT_PROTOCOL=version=2");
  auto r = run_process(o, std::chrono::seconds(60));
  if (!r) return std::unexpected(r.error());
  if (r->status != 0)
    return fail(Errc::io, "git upload-pack --advertise-refs: " + tail_line(r->err));
  std::string body;
  if (version != 2) body = pkt_line("# service=git-upload-pack\n") + std::string(kFlush);
  body += r->out;
  auto shared = std::make_shared<const std::string>(std::move(body));
  std::lock_guard lock(mu_);
  if (gen == refs_gen_) adverts_[version] = shared;  // refs moved meanwhile: don't cache stale
  return shared;
}

GitMirror::Status GitMirror::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void GitMirror::restore(std::optional<std::chrono::system_clock::time_point> last_success,
                        std::string last_error) {
  std::lock_guard lock(mu_);
  status_.last_success = last_success;
  status_.last_error = std::move(last_error);
}

}  // namespace outpost::git
