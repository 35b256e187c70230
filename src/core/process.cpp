#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace outpost {
namespace {

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2", errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The child's environment: PATH, HOME, LANG and the like pass through; everything else is
// dropped so secrets in our environment never reach a child unless asked for.
std::vector<std::string> child_env(const std::vector<std::string>& extra) {
  static const char* kKeep[] = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"};
  std::vector<std::string> env;
  for (const char* k : kKeep)
    if (const char* v = std::getenv(k)) env.push_back(std::string(k) + "=" + v);
  for (const auto& e : extra) env.push_back(e);
  return env;
}

}  // namespace

Result<Process> Process::spawn(const SpawnOptions& opts) {
  if (opts.argv.empty()) return fail(Errc::internal, "spawn: empty argv");
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  struct Cleanup {
    posix_spawn_file_actions_t* fa;
    posix_spawnattr_t* attr;
    ~Cleanup() {
      posix_spawn_file_actions_destroy(fa);
      posix_spawnattr_destroy(attr);
    }
  } cleanup{&fa, &attr};

  Process p;
  std::optional<Pipe> out, err;
  if (opts.stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, opts.stdin_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  if (opts.capture_stdout) {
    auto pp = make_pipe();
    if (!pp) return std::unexpected(pp.error());
    out = std::move(*pp);
    posix_spawn_file_actions_adddup2(&fa, out->write.get(), 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  if (opts.capture_stderr) {
    auto pp = make_pipe();
    if (!pp) return std::unexpected(pp.error());
    err = std::move(*pp);
    posix_spawn_file_actions_adddup2(&fa, err->write.get(), 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  if (opts.cwd) posix_spawn_file_actions_addchdir_np(&fa, opts.cwd->c_str());
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t dfl;
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  sigaddset(&dfl, SIGTERM);
  sigaddset(&dfl, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env_strings = child_env(opts.env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int rc = ::posix_spawnp(&p.pid_, argv[0], &fa, &attr, argv.data(), envp.data());
  if (rc != 0) return fail_errno("spawning " + opts.argv[0], rc);
  if (out) p.out_ = std::move(out->read);
  if (err) p.err_ = std::move(err->read);
  return p;
}

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      reaped_(std::exchange(o.reaped_, true)),
      status_(o.status_),
      reap_mu_(std::move(o.reap_mu_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)) {}

Process::~Process() {
  if (pid_ > 0 && reap_mu_) {
    kill();
    wait();
  }
}

void Process::kill() {
  if (pid_ <= 0 || !reap_mu_) return;
  std::lock_guard lock(*reap_mu_);
  if (!reaped_) ::kill(-pid_, SIGKILL);
}

int Process::wait() {
  if (pid_ <= 0 || !reap_mu_) return status_;
  {
    std::lock_guard lock(*reap_mu_);
    if (reaped_) return status_;
  }
  // Wait for the exit without reaping: until it is reaped the pid stays the (zombie) child's, so
  // a kill() meanwhile signals nothing else.
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(*reap_mu_);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

Result<RunResult> run_process(const SpawnOptions& opts, Millis timeout,
                              const std::atomic<bool>* cancel, std::size_t max_output) {
  auto p = Process::spawn(opts);
  if (!p) return std::unexpected(p.error());
  RunResult r{0, {}, {}};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<pollfd> fds;
  auto add = [&](int fd) {
    if (fd >= 0) fds.push_back({fd, POLLIN, 0});
  };
  add(p->stdout_fd());
  add(p->stderr_fd());
  char buf[65536];
  while (!fds.empty()) {
    if (cancel && cancel->load()) {
      p->kill();
      return fail(Errc::cancelled, opts.argv[0] + " cancelled");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      p->kill();
      return fail(Errc::timeout, opts.argv[0] + " took longer than " + format_duration(timeout));
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left.count(), 200)));
    if (n < 0 && errno != EINTR) return fail_errno("poll", errno);
    for (std::size_t i = 0; i < fds.size();) {
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
        if (got > 0) {
          const bool out = fds[i].fd == p->stdout_fd();
          auto& dst = out ? r.out : r.err;
          if (out && dst.size() + static_cast<std::size_t>(got) > max_output) {
            p->kill();
            return fail(Errc::too_large,
                        fmt::format("{} wrote more than {} bytes", opts.argv[0], max_output));
          }
          if (dst.size() < max_output) dst.append(buf, static_cast<std::size_t>(got));
          ++i;
          continue;
        }
        if (got < 0 && errno == EINTR) {
          ++i;
          continue;
        }
        fds.erase(fds.begin() + static_cast<long>(i));  // EOF or error
        continue;
      }
      ++i;
    }
  }
  r.status = p->wait();
  return r;
}

}  // namespace outpost
