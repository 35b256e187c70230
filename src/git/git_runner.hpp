#pragma once
// The one way Outpost runs git: an argv (never a shell), an environment built once, a bound on
// time, and typed failures. A run that could not start is Errc::io; one past its bound
// Errc::timeout; one cancelled Errc::cancelled; one that exited non-zero takes the Errc the caller
// names for that command (a fetch: upstream_unavailable; a local command: io) with git's last
// stderr line as the message, which is what people read.
#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "upstream/config.hpp"

namespace outpost::git {

// Serving policy for upload-pack (hidden retained refs, fetch by any SHA, filters), whatever a
// mirror's config file says.
std::vector<std::string> serving_env();
// The environment for talking to `upstream`: no prompts, no system config, credentials scoped to
// its URL (never argv, never the repository's config), low-speed abort after `stall_timeout`.
std::vector<std::string> upstream_env(const HostUpstreamConfig& upstream, Millis stall_timeout);

struct GitRun {
  std::vector<std::string> args;  // after "git"
  Errc on_exit = Errc::io;        // the failure a non-zero exit means
  Millis timeout = std::chrono::seconds(60);
  const std::atomic<bool>* cancel = nullptr;
  std::optional<std::string> input{};  // stdin (through a memfd: no pipe to deadlock against)
  // More git config for this run only, through the environment (never argv: a value may be a
  // credential), after the runner's own.
  std::vector<std::pair<std::string, std::string>> config{};
  // The largest stdout taken: more fails the run (Errc::too_large), never cut. A ref
  // advertisement or listing is about 130 bytes a ref: 256 MiB holds two million refs.
  std::size_t max_output = 256u << 20;
};

class GitRunner {
 public:
  explicit GitRunner(std::vector<std::string> env) : env_(std::move(env)) {}
  // Runs `git -C repo ARGS…`; stdout on success.
  Result<std::string> run(const std::filesystem::path& repo, const GitRun& r) const;
  // Runs `git ARGS…` (no repository).
  Result<std::string> run(const GitRun& r) const;
  // Starts `git ARGS…` for its output as a stream (upload-pack serving a fetch): stdout is a pipe
  // the caller reads, stdin the run's input, stderr discarded; `timeout`, `max_output` and
  // `on_exit` are the caller's to apply. The Process kills and reaps the child when it goes.
  Result<Process> start(const GitRun& r) const;
  const std::vector<std::string>& env() const { return env_; }

 private:
  std::vector<std::string> env_;
};

// Git processes this process has started, by subcommand (fetch, upload-pack, …), since start.
std::map<std::string, std::uint64_t> git_spawns();

// The last meaningful line of git's stderr: its last "fatal:" or "error:" line, else its last.
std::string last_line(const std::string& err);

}  // namespace outpost::git
