#include "core/thread_pool.hpp"

#include <spdlog/spdlog.h>

namespace outpost {

ThreadPool::ThreadPool(unsigned threads) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  threads_.clear();  // joins
}

void ThreadPool::post(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::loop() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      while (!(stopping_ || !queue_.empty())) cv_.wait(lock);
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {  // a task must not take the process down with it
      spdlog::error("background task failed: {}", e.what());
    }
  }
}

}  // namespace outpost
