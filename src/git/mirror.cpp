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
#include "git/git_runner.hpp"
#include "git/pkt_line.hpp"

namespace outpost::git {
namespace fs = std::filesystem;
namespace {

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
                     const HostUpstreamConfig& upstream, const GitConfig& cfg, const Clock& clock)
    : id_(std::move(id)),
      dir_(std::move(dir)),
      staging_root_(std::move(staging_root)),
      upstream_(upstream),
      cfg_(cfg),
      clock_(clock),
      git_(upstream_env(upstream, cfg.stall_timeout)) {}

std::string GitMirror::upstream_url() const {
  return git::upstream_url(upstream_, id_);
}

std::string GitMirror::source_url(std::size_t i) const {
  if (i < upstream_.mirrors.size()) return upstream_.mirrors[i].url + "/" + id_.path + ".git";
  return upstream_url();
}

void GitMirror::set_source_locked(const From& from) {
  status_.synced_from = from.source;
  status_.failover = from.failover;
}

bool GitMirror::cloned() const {
  std::error_code ec;
  return fs::exists(dir_ / "HEAD", ec);
}

Result<std::string> GitMirror::git_output(const fs::path& repo,
                                          const std::vector<std::string>& args,
                                          Errc on_exit) const {
  return git_.run(repo, {.args = args, .on_exit = on_exit});
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
  std::vector<std::string> args = {"for-each-ref", "--format=%(objectname) %(refname)"};
  args.insert(args.end(), prefixes.begin(), prefixes.end());
  auto out = git_.run(repo, {.args = args});
  if (!out) return std::unexpected(out.error());
  std::map<std::string, std::string> refs;
  std::istringstream in(*out);
  std::string sha, name;
  while (in >> sha >> name) refs[name] = sha;
  return refs;
}

Result<void> GitMirror::init_staging(const fs::path& staging) {
  if (auto r = git_.run({.args = {"init", "--bare", "--quiet", staging.string()}}); !r)
    return std::unexpected(r.error());
  std::ofstream cfg(staging / "config", std::ios::app);
  cfg << kMirrorConfig << "[remote \"origin\"]\n\turl = " << upstream_url() << "\n";
  if (!cfg) return fail(Errc::io, "writing mirror config");
  return {};
}

Result<SyncOutcome> GitMirror::sync(const std::atomic<bool>& stop, const Sources& sources) {
  MutexLock lock(mu_);
  if (syncing_) {  // single-flight: join the running sync
    auto gen = sync_gen_;
    while (sync_gen_ == gen) cv_.wait(lock);
    return *last_;
  }
  syncing_ = true;
  status_.last_attempt = clock_.system_now();
  lock.unlock();
  std::optional<From> used;  // the source of the attempt that succeeded
  auto r = sources([&](const From& from) {
    auto one = run_sync(stop, from);
    if (one) used = from;
    return one;
  });
  lock.lock();
  syncing_ = false;
  ++sync_gen_;
  last_ = r;
  if (r) {
    status_.last_success = clock_.system_now();
    status_.last_error.clear();
    if (used) set_source_locked(*used);
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
  MutexLock lock(mu_);
  return sync_gen_;
}

bool GitMirror::wait_sync_after(std::uint64_t gen, std::chrono::milliseconds budget) {
  MutexLock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (sync_gen_ == gen)
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return sync_gen_ != gen;
  return true;
}

bool GitMirror::syncing() const {
  MutexLock lock(mu_);
  return syncing_;
}

Result<void> GitMirror::fetch(const fs::path& repo, const From& from,
                              const std::atomic<bool>& stop) {
  const std::string& url = from.url;
  // From a URL (the source this sync uses), never a remote name, with explicit refspecs; "--"
  // keeps a URL from being read as an option.
  std::vector<std::string> args = {
      "fetch", "--prune", "--force", "--quiet", "--no-tags", "--no-write-fetch-head", "--"};
  if (gate_) {
    // Upstream's refs land aside; advertised refs move only through the gate.
    args.insert(args.end(), {url, "+refs/heads/*:refs/outpost/upstream/heads/*",
                             "+refs/tags/*:refs/outpost/upstream/tags/*"});
  } else {
    args.insert(args.end(), {url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"});
  }
  auto r = git_.run(repo, {.args = args,
                           .on_exit = Errc::upstream_unavailable,
                           .timeout = cfg_.sync_timeout,
                           .cancel = &stop,
                           .config = from.config});
  if (!r) return std::unexpected(r.error());
  return {};
}

std::string GitMirror::follow_head(const fs::path& repo, const From& from,
                                   const std::optional<RefAdvert>& advert,
                                   const std::atomic<bool>& stop) {
  if (advert && !advert->head.empty()) {
    const auto& target = advert->head;
    std::string current;
    {
      MutexLock lock(mu_);
      current = status_.head;
    }
    if (target != current) (void)git_.run(repo, {.args = {"symbolic-ref", "HEAD", target}});
    return target;
  }
  auto h = git_.run(repo, {.args = {"ls-remote", "--symref", "--", from.url, "HEAD"},
                           .on_exit = Errc::upstream_unavailable,
                           .cancel = &stop,
                           .config = from.config});
  if (!h) return {};
  std::istringstream in(*h);
  std::string word, target;
  if (!(in >> word >> target) || word != "ref:" || !target.starts_with("refs/heads/")) return {};
  (void)git_.run(repo, {.args = {"symbolic-ref", "HEAD", target}});
  return target;
}

Result<std::vector<PendingRef>> GitMirror::pass_gate(
    const fs::path& repo, const std::map<std::string, std::string>& before) {
  std::vector<PendingRef> pending;
  auto up = list_refs(repo, {"refs/outpost/upstream/"});
  if (!up) return std::unexpected(up.error());
  std::map<std::string, std::string> upstream;
  const std::string prefix = "refs/outpost/upstream/";
  for (const auto& [name, sha] : *up) upstream["refs/" + name.substr(prefix.size())] = sha;
  auto advance = gate_updates(repo, before, upstream, pending);
  if (!pending.empty())
    spdlog::info("git: {} holds back {} ref(s): {} waits for {}", id_.key(), pending.size(),
                 pending.front().ref, pending.front().waiting_for);
  if (!advance.empty()) {
    if (auto a = apply_ref_script(repo, advance); !a) return std::unexpected(a.error());
  }
  return pending;
}

SyncOutcome GitMirror::retain_old_tips(const fs::path& repo,
                                       const std::map<std::string, std::string>& before,
                                       const std::map<std::string, std::string>& after) {
  SyncOutcome out;
  std::string keep;  // update-ref --stdin script: old tips that moved or vanished
  for (const auto& [name, sha] : before) {
    auto it = after.find(name);
    if (it == after.end() || it->second != sha) {
      keep += fmt::format("update refs/outpost/retained/{} {}\n", sha, sha);
      out.moved.push_back({name, sha, it == after.end() ? "" : it->second});
    }
  }
  for (const auto& [name, sha] : after)
    if (!before.contains(name)) out.moved.push_back({name, "", sha});
  if (!keep.empty()) {
    if (auto u = apply_ref_script(repo, keep); !u)
      spdlog::error("git: could not retain old tips of {}: {}", id_.key(), u.error().message);
  }
  return out;
}

bool GitMirror::unchanged(const std::string& url, const std::optional<RefAdvert>& advert) const {
  MutexLock lock(mu_);
  return advert && seen_ && seen_->first == url && seen_->second == *advert &&
         status_.pending.empty();
}

Result<SyncOutcome> GitMirror::run_sync(const std::atomic<bool>& stop, const From& from) {
  std::optional<RefAdvert> advert;
  if (from.read_refs) {
    auto a = from.read_refs();
    if (!a) return std::unexpected(a.error());
    advert = std::move(*a);
  }
  if (cloned() && (unchanged(from.url, advert) || matches_local(from.url, advert)))
    return SyncOutcome{{}, true};
  {
    MutexLock lock(mu_);
    seen_.reset();  // until this sync succeeds
  }
  return fetch_sync(stop, from, advert);
}

bool GitMirror::matches_local(const std::string& url, const std::optional<RefAdvert>& advert) {
  {
    MutexLock lock(mu_);
    if (!advert || seen_ || gate_) return false;  // gated: advertised refs are not upstream's
  }
  // After a restart nothing is held yet: the mirror's own refs are what its last sync fetched.
  auto refs = list_refs(dir_);
  if (!refs) return false;
  RefAdvert local{std::move(*refs), {}};
  std::ifstream head(dir_ / "HEAD");
  std::string word;
  head >> word >> local.head;  // "ref: refs/heads/main"
  if (word != "ref:" || (!advert->head.empty() && local.head != advert->head) ||
      local.refs != advert->refs)
    return false;
  MutexLock lock(mu_);
  seen_.emplace(url, *advert);
  if (status_.head.empty()) status_.head = local.head;
  status_.ref_count = local.refs.size();
  if (auto it = local.refs.find(status_.head); it != local.refs.end())
    status_.head_commit = it->second;
  return true;
}

Result<SyncOutcome> GitMirror::fetch_sync(const std::atomic<bool>& stop, const From& from,
                                          const std::optional<RefAdvert>& advert) {
  const std::string& url = from.url;
  const bool first = !cloned();
  fs::path repo = dir_;
  std::error_code ec;
  if (first) {
    // An initial clone is built aside and renamed into place only when complete, so a failed or
    // interrupted clone never leaves a half-mirror that would be served.
    fs::create_directories(staging_root_, ec);
    repo = staging_root_ / fmt::format("{}-{}", ::getpid(), std::hash<std::string>()(id_.key()));
    fs::remove_all(repo, ec);
    if (auto r = init_staging(repo); !r) return std::unexpected(r.error());
    spdlog::info("git: cloning {} from {}", id_.key(), url);
  }
  auto discard = [&](Error e) -> Result<SyncOutcome> {
    if (first) fs::remove_all(repo, ec);
    return std::unexpected(std::move(e));
  };
  auto before = list_refs(repo);
  if (!before) return discard(before.error());
  if (auto f = fetch(repo, from, stop); !f) return discard(f.error());
  std::string head_target = follow_head(repo, from, advert, stop);
  std::vector<PendingRef> pending;
  if (gate_) {
    auto p = pass_gate(repo, *before);
    if (!p) return discard(p.error());
    pending = std::move(*p);
  }
  auto after = list_refs(repo);
  if (!after) return discard(after.error());
  SyncOutcome out = retain_old_tips(repo, *before, *after);
  maintain(repo, first, !out.moved.empty(), stop);
  if (first) {
    fs::create_directories(dir_.parent_path(), ec);
    fs::rename(repo, dir_, ec);
    if (ec) return discard({Errc::io, "publishing mirror: " + ec.message()});
    spdlog::info("git: cloned {} ({} refs)", id_.key(), after->size());
  }
  MutexLock lock(mu_);
  if (advert) seen_.emplace(from.url, *advert);
  if (first || !out.moved.empty()) bytes_.reset();
  status_.ref_count = after->size();
  status_.pending = pending;
  if (!head_target.empty()) status_.head = head_target;
  if (auto it = after->find(status_.head); it != after->end()) status_.head_commit = it->second;
  if (first) out.moved.push_back({"HEAD", "", head_target});  // force advert refresh
  return out;
}

Result<void> GitMirror::apply_ref_script(const fs::path& repo, const std::string& script) {
  auto r = git_.run(repo, {.args = {"update-ref", "--stdin"}, .input = script});
  if (!r) return std::unexpected(r.error());
  return {};
}

void GitMirror::maintain(const fs::path& repo, bool first, bool refs_moved,
                         const std::atomic<bool>& stop) {
  // Serving speed depends on the repository's shape: packed refs (one file instead of thousands
  // of loose ones per upload-pack) and one pack with a reachability bitmap. Nothing is ever
  // pruned: -k keeps unreachable objects in the new pack.
  auto git = [&](std::vector<std::string> args, const char* what) {
    auto r =
        git_.run(repo, {.args = std::move(args), .timeout = cfg_.sync_timeout, .cancel = &stop});
    if (!r) spdlog::warn("git: {} of {} failed: {}", what, id_.key(), r.error().message);
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
    MutexLock lock(mu_);
    if (auto it = adverts_.find(version); it != adverts_.end()) return it->second;
    gen = refs_gen_;
  }
  auto env = serving_env();
  if (version == 2) env.push_back("GIT_PROTOCOL=version=2");
  auto r = GitRunner(std::move(env))
               .run({.args = {"upload-pack", "--strict", "--stateless-rpc", "--advertise-refs",
                              dir_.string()}});
  if (!r) return std::unexpected(r.error());
  std::string body;
  if (version != 2) body = pkt_line("# service=git-upload-pack\n") + std::string(kFlush);
  body += *r;
  auto shared = std::make_shared<const std::string>(std::move(body));
  MutexLock lock(mu_);
  if (gen == refs_gen_) adverts_[version] = shared;  // refs moved meanwhile: don't cache stale
  return shared;
}

Result<Digest> GitMirror::advertised_state() {
  auto body = info_refs_body(0);
  if (!body) return std::unexpected(body.error());
  {
    MutexLock lock(mu_);
    if (state_ && state_->first == *body) return state_->second;
  }
  auto d = sha256_of(**body);  // outside the lock: a large advertisement takes a while
  MutexLock lock(mu_);
  state_.emplace(*body, d);
  return d;
}

GitMirror::Status GitMirror::status() const {
  MutexLock lock(mu_);
  return status_;
}

std::uint64_t GitMirror::disk_bytes() {
  {
    MutexLock lock(mu_);
    if (bytes_) return *bytes_;
  }
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  MutexLock lock(mu_);
  bytes_ = total;
  return total;
}

void GitMirror::restore(std::optional<std::chrono::system_clock::time_point> last_success,
                        std::string last_error) {
  MutexLock lock(mu_);
  status_.last_success = last_success;
  status_.last_error = std::move(last_error);
}

}  // namespace outpost::git
