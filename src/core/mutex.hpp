#pragma once
// A mutex the compiler can check. With clang, -Wthread-safety verifies that every member marked
// GUARDED_BY(mu) is touched only with `mu` held and that REQUIRES(mu) functions are only called
// with it held; GCC compiles the same code without the checks. Use Mutex + MutexLock (and
// std::condition_variable_any, which waits on a MutexLock) instead of std::mutex where data is
// guarded.
#include <mutex>

#if defined(__clang__)
#define OUTPOST_TSA(x) __attribute__((x))
#else
#define OUTPOST_TSA(x)
#endif

#define CAPABILITY(x) OUTPOST_TSA(capability(x))
#define SCOPED_CAPABILITY OUTPOST_TSA(scoped_lockable)
#define GUARDED_BY(x) OUTPOST_TSA(guarded_by(x))
#define REQUIRES(...) OUTPOST_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) OUTPOST_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) OUTPOST_TSA(release_capability(__VA_ARGS__))

namespace outpost {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope; unlock()/lock() release and retake it (a condition variable waits
// on it through these).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& m) ACQUIRE(m) : m_(m) { m_.lock(); }
  ~MutexLock() RELEASE() {
    if (held_) m_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  void lock() ACQUIRE() {
    m_.lock();
    held_ = true;
  }
  void unlock() RELEASE() {
    held_ = false;
    m_.unlock();
  }

 private:
  Mutex& m_;
  bool held_ = true;
};

}  // namespace outpost
