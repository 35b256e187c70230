#include "git/git_runner.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "core/fd.hpp"
#include "core/mutex.hpp"

namespace outpost::git {

std::vector<std::string> serving_env() {
  return {"GIT_CONFIG_NOSYSTEM=1",
          "GIT_CONFIG_COUNT=4",
          "GIT_CONFIG_KEY_0=uploadpack.hideRefs",
          "GIT_CONFIG_VALUE_0=refs/outpost/",
          "GIT_CONFIG_KEY_1=uploadpack.allowAnySHA1InWant",
          "GIT_CONFIG_VALUE_1=true",
          "GIT_CONFIG_KEY_2=uploadpack.allowFilter",
          "GIT_CONFIG_VALUE_2=true",
          "GIT_CONFIG_KEY_3=uploadpack.allowReachableSHA1InWant",
          "GIT_CONFIG_VALUE_3=true"};
}

std::vector<std::string> upstream_env(const HostUpstreamConfig& upstream, Millis stall_timeout) {
  std::vector<std::string> env = {"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
                                  "GIT_ASKPASS=/bin/false", "GIT_SSH_COMMAND=/bin/false"};
  int n = 0;
  auto add = [&](const std::string& k, const std::string& v) {
    env.push_back(fmt::format("GIT_CONFIG_KEY_{}={}", n, k));
    env.push_back(fmt::format("GIT_CONFIG_VALUE_{}={}", n, v));
    ++n;
  };
  // Each source's credentials and TLS policy are scoped to its own URL: a mirror never sees the
  // origin's credentials, nor the origin a mirror's.
  auto source = [&](const std::string& url, const std::string& user, const std::string& password,
                    bool insecure) {
    if (!user.empty())
      add(fmt::format("http.{}/.extraHeader", url), "Authorization: " + basic_auth(user, password));
    if (insecure) add(fmt::format("http.{}/.sslVerify", url), "false");
  };
  for (const auto& m : upstream.mirrors) source(m.url, m.username, m.password, m.insecure);
  source(upstream.url, upstream.username, upstream.password, upstream.insecure);
  add("http.lowSpeedLimit", "1000");
  add("http.lowSpeedTime", std::to_string(std::max<long>(1, stall_timeout.count() / 1000)));
  add("protocol.version", "2");
  env.push_back(fmt::format("GIT_CONFIG_COUNT={}", n));
  return env;
}

std::string last_line(const std::string& err) {
  // git ends some failures with advice ("Please make sure you have the correct access rights /
  // and the repository exists."): the last "fatal:" or "error:" line is the reason.
  std::string reason;
  std::size_t start = 0;
  while (start < err.size()) {
    auto end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string_view line(err.data() + start, end - start);
    if (line.starts_with("fatal:") || line.starts_with("error:")) reason = line;
    start = end + 1;
  }
  while (!reason.empty() && reason.back() == '\r') reason.pop_back();
  if (!reason.empty()) return reason;
  std::string s = err;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  auto nl = s.find_last_of('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

Result<std::string> GitRunner::run(const std::filesystem::path& repo, const GitRun& r) const {
  GitRun with = r;
  with.args.insert(with.args.begin(), {"-C", repo.string()});
  return run(with);
}

namespace {

Mutex spawn_mu;
std::map<std::string, std::uint64_t> spawn_counts GUARDED_BY(spawn_mu);

// The subcommand of a run, skipping -C <repo>.
std::string subcommand(const std::vector<std::string>& args) {
  std::size_t i = 0;
  while (i + 1 < args.size() && args[i] == "-C") i += 2;
  return i < args.size() ? args[i] : "";
}

void count_spawn(const std::vector<std::string>& args) {
  MutexLock lock(spawn_mu);
  ++spawn_counts[subcommand(args)];
}

// The child's options for `git ARGS…` under `env`, with the run's extra config appended to the
// environment's GIT_CONFIG_* entries.
SpawnOptions spawn_options(const std::vector<std::string>& env, const GitRun& r) {
  count_spawn(r.args);
  SpawnOptions o;
  o.argv = {"git"};
  o.argv.insert(o.argv.end(), r.args.begin(), r.args.end());
  o.env = env;
  if (!r.config.empty()) {
    int n = 0;
    auto count = std::find_if(o.env.begin(), o.env.end(), [](const std::string& e) {
      return e.starts_with("GIT_CONFIG_COUNT=");
    });
    if (count != o.env.end()) {
      n = std::atoi(count->c_str() + std::string_view("GIT_CONFIG_COUNT=").size());
      o.env.erase(count);
    }
    for (const auto& [k, v] : r.config) {
      o.env.push_back(fmt::format("GIT_CONFIG_KEY_{}={}", n, k));
      o.env.push_back(fmt::format("GIT_CONFIG_VALUE_{}={}", n, v));
      ++n;
    }
    o.env.push_back(fmt::format("GIT_CONFIG_COUNT={}", n));
  }
  return o;
}

}  // namespace

Result<Process> GitRunner::start(const GitRun& r) const {
  SpawnOptions o = spawn_options(env_, r);
  o.capture_stderr = false;
  UniqueFd in;  // the child holds its own copy once spawned
  if (r.input) {
    auto fd = memfd_holding("git-input", *r.input);
    if (!fd) return std::unexpected(fd.error());
    in = std::move(*fd);
    o.stdin_fd = in.get();
  }
  return Process::spawn(o);
}

Result<std::string> GitRunner::run(const GitRun& r) const {
  SpawnOptions o = spawn_options(env_, r);
  UniqueFd in;
  if (r.input) {
    auto fd = memfd_holding("git-input", *r.input);
    if (!fd) return std::unexpected(fd.error());
    in = std::move(*fd);
    o.stdin_fd = in.get();
  }
  auto res = run_process(o, r.timeout, r.cancel, r.max_output);
  if (!res) return std::unexpected(res.error());
  // The subcommand names the failure ("git fetch: …").
  const std::string what = subcommand(r.args);
  if (res->status != 0)
    return fail(r.on_exit, fmt::format("git {}: {}", what, last_line(res->err)));
  return std::move(res->out);
}

std::map<std::string, std::uint64_t> git_spawns() {
  MutexLock lock(spawn_mu);
  return spawn_counts;
}

}  // namespace outpost::git
