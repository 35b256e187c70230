#pragma once
// Child processes from an argv vector — never a shell, so client-supplied names can never become
// commands. posix_spawn with close-on-exec descriptors, the child in its own process group; the
// destructor kills the group and reaps, so no child outlives its owner. Thread-safe per object.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"

namespace outpost {

struct SpawnOptions {
  std::vector<std::string> argv{};  // argv[0] is looked up in PATH
  std::vector<std::string> env{};   // "K=V" entries added to a minimal inherited environment
  std::optional<std::string> cwd{};
  int stdin_fd = -1;           // -1: /dev/null; else dup'ed into the child as fd 0
  bool capture_stdout = true;  // pipe; else /dev/null
  bool capture_stderr = true;  // pipe; else /dev/null
};

class Process {
 public:
  static Result<Process> spawn(const SpawnOptions& opts);
  Process(Process&& o) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  ~Process();  // SIGKILL to the group if still running, then reap

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_.get(); }
  int stderr_fd() const { return err_.get(); }
  // Blocks until the child exits, then reaps it. Returns its exit status (128+signal when
  // killed). One thread waits; kill() may run on any other meanwhile.
  int wait();
  // SIGKILL to the process group, from any thread. Never signals once the child is reaped (its
  // pid may belong to another process by then): waiting and killing are ordered by a lock, and
  // the child is reaped only under it.
  void kill();

 private:
  Process() = default;
  pid_t pid_ = -1;
  bool reaped_ = false;  // guarded by *reap_mu_
  int status_ = -1;
  std::unique_ptr<std::mutex> reap_mu_ = std::make_unique<std::mutex>();
  UniqueFd out_, err_;
};

struct RunResult {
  int status;
  std::string out;
  std::string err;
};

// Runs to completion, collecting stdout and stderr. stdout is the result: more than `max_output`
// bytes of it kills the run and fails it with Errc::too_large (output is never cut and taken as
// data); stderr only explains, and keeps its first `max_output` bytes. A run longer than
// `timeout` is killed and reported as Errc::timeout; `cancel` (polled) aborts it.
Result<RunResult> run_process(const SpawnOptions& opts, Millis timeout,
                              const std::atomic<bool>* cancel = nullptr,
                              std::size_t max_output = 8 << 20);

}  // namespace outpost
