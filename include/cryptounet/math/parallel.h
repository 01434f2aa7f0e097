// A small thread pool with passive (condition-variable) waits and parallel_for over an index
// range. Why not OpenMP: libgomp reads OMP_WAIT_POLICY once when it loads and by default lets
// idle threads spin; on the 2-core machines this project runs on, spinning workers steal the
// core another process (or our own caller) needs and were measured to slow everything badly.
// Our workers sleep on a condition variable between jobs and the caller works too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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

/// Process-wide accounting of parallel regions (off by default; `cryptounet bench unet` turns it
/// on). Each task's CPU time is measured on its thread, and each region's span is what list
/// scheduling of those task times over `sim_threads` threads would take: so the serial share
/// follows from CPU times and the work's structure, not from wall time on a loaded machine.
/// From one snapshot to another, with C the process CPU time spent meanwhile and T = sim_threads:
/// serial CPU = (C - work) + (T * span - work) / (T - 1) (outside regions, plus the time in
/// regions where not every thread has a task), and the T-thread time predicted from the
/// 1-thread time C is (C - work) + span.
struct PoolAccount {
  double work_s = 0.0;     ///< CPU seconds of all tasks of all accounted regions
  double span_s = 0.0;     ///< their list-scheduled span over sim_threads threads
  std::uint64_t regions = 0;
  std::uint64_t tasks = 0;
};
/// sim_threads >= 2 turns accounting on (every parallel_for not nested in another), 0 turns it off.
void set_pool_accounting(int sim_threads);
[[nodiscard]] int pool_accounting_threads();
[[nodiscard]] PoolAccount pool_account();
/// CPU seconds of the whole process (all threads, user + system).
[[nodiscard]] double process_cpu_seconds();

/// Process CPU time and pool account at one moment.
struct CpuSnapshot {
  double cpu_s = 0.0;
  PoolAccount pool;
};
[[nodiscard]] CpuSnapshot cpu_snapshot();
/// Between two snapshots, on `threads` simulated threads (PoolAccount's formulas).
struct SerialSplit {
  double serial_s = 0.0;     ///< CPU while only one thread works (outside regions and regions' tails)
  double parallel_s = 0.0;   ///< CPU while every thread works
  double predicted_s = 0.0;  ///< predicted wall time on `threads` threads
  SerialSplit& operator+=(const SerialSplit& o) {
    serial_s += o.serial_s;
    parallel_s += o.parallel_s;
    predicted_s += o.predicted_s;
    return *this;
  }
  [[nodiscard]] double fraction() const { return serial_s + parallel_s > 0 ? serial_s / (serial_s + parallel_s) : 0.0; }
  [[nodiscard]] double speedup() const { return predicted_s > 0 ? (serial_s + parallel_s) / predicted_s : 1.0; }
};
[[nodiscard]] SerialSplit serial_split(const CpuSnapshot& a, const CpuSnapshot& b, int threads);

/// CPU nanoseconds of the calling thread so far.
[[nodiscard]] std::int64_t thread_cpu_ns();

/// Counts work that ran in parallel outside a ThreadPool (CPU nanoseconds of each thread's share) as
/// one accounted region, while accounting is on; nothing otherwise.
void account_parallel_work(const std::vector<std::int64_t>& thread_ns);

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
    if (account_threads_.load(std::memory_order_relaxed) > 0 && !in_worker_) [[unlikely]] {
      std::vector<std::int64_t> ns(end - begin, 0);
      auto timed = [&](std::size_t i) {
        const std::int64_t t0 = thread_cpu_ns();
        fn(i);
        ns[i - begin] = thread_cpu_ns() - t0;
      };
      if (end - begin == 1 || workers_.empty()) {
        in_worker_ = true;  // nested calls run inline and count within this task
        try {
          for (std::size_t i = begin; i < end; ++i) timed(i);
        } catch (...) {
          in_worker_ = false;
          throw;
        }
        in_worker_ = false;
      } else {
        dispatch(begin, end, timed);
      }
      account_region(ns);
      return;
    }
    dispatch(begin, end, fn);
  }

 private:
  template <class F>
  void dispatch(std::size_t begin, std::size_t end, F&& fn) {
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

  friend void set_pool_accounting(int);
  friend void account_parallel_work(const std::vector<std::int64_t>&);
  friend int pool_accounting_threads();
  static void account_region(const std::vector<std::int64_t>& ns);
  static std::atomic<int> account_threads_;
  using Trampoline = void (*)(void*, std::size_t);
  void run(std::size_t begin, std::size_t end, void* fn, Trampoline call);
  void work_loop();
  void drain();

  std::vector<std::thread> workers_;
  std::mutex dispatch_;  // one parallel_for at a time
  std::mutex m_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Written under m_; generation_ and running_ are also read without it by spinning threads.
  std::atomic<std::size_t> generation_{0};  // the current job's number
  std::size_t closed_ = 0;                  // the last job no worker may join any more
  std::atomic<int> running_{0};             // workers inside the current job's drain
  std::atomic<bool> stop_{false};
  // current job
  void* fn_ = nullptr;
  Trampoline call_ = nullptr;
  std::atomic<std::size_t> next_{0};
  std::size_t end_ = 0;
  std::exception_ptr error_;
  static thread_local bool in_worker_;
};

}  // namespace cryptounet::math
