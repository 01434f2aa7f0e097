// A small thread pool with passive (condition-variable) waits and parallel_for over an index
// range. Why not OpenMP: libgomp reads OMP_WAIT_POLICY once when it loads and by default lets
// idle threads spin; on the 2-core machines this project runs on, spinning workers steal the
// core another process (or our own caller) needs and were measured to slow everything badly.
// Our workers sleep on a condition variable between jobs and the caller works too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace cryptounet {

/// Execution options passed explicitly to whatever runs work in parallel.
struct ExecOptions {
  int threads = 0;  ///< 0 = all cores (std::thread::hardware_concurrency())
};

}  // namespace cryptounet

namespace cryptounet::math {

class ThreadPool {
 public:
  /// threads <= 0: hardware_concurrency(). threads == 1: no worker threads, everything inline.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Total threads that run a parallel_for (workers + the calling thread).
  [[nodiscard]] int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls fn(i) for every i in [begin, end), spread over the pool; returns when all are done.
  /// Runs inline when the range has one element, the pool has one thread, the caller is itself
  /// a pool worker (nested use) or another thread is using the pool. Rethrows the first exception.
  template <class F>
  void parallel_for(std::size_t begin, std::size_t end, F&& fn) {
    if (end <= begin) return;
    if (end - begin == 1 || workers_.empty() || in_worker_) {
      for (std::size_t i = begin; i < end; ++i) fn(i);
      return;
    }
    std::unique_lock<std::mutex> busy(dispatch_, std::try_to_lock);
    if (!busy.owns_lock()) {
      for (std::size_t i = begin; i < end; ++i) fn(i);
      return;
    }
    run(begin, end, &fn, [](void* f, std::size_t i) { (*static_cast<std::remove_reference_t<F>*>(f))(i); });
  }

 private:
  using Trampoline = void (*)(void*, std::size_t);
  void run(std::size_t begin, std::size_t end, void* fn, Trampoline call);
  void work_loop();
  void drain();

  std::vector<std::thread> workers_;
  std::mutex dispatch_;  // one parallel_for at a time
  std::mutex m_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::size_t generation_ = 0;
  int active_ = 0;
  bool stop_ = false;
  // current job
  void* fn_ = nullptr;
  Trampoline call_ = nullptr;
  std::atomic<std::size_t> next_{0};
  std::size_t end_ = 0;
  std::exception_ptr error_;
  static thread_local bool in_worker_;
};

}  // namespace cryptounet::math
