#include "cryptounet/math/parallel.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "cryptounet/math/first_touch.h"

namespace cryptounet::math {

thread_local bool ThreadPool::in_worker_ = false;
std::atomic<int> ThreadPool::account_threads_{0};

namespace {

std::mutex account_m;
PoolAccount account_total;

std::int64_t cpu_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

void set_pool_accounting(int sim_threads) {
  ThreadPool::account_threads_.store(sim_threads >= 2 ? sim_threads : 0, std::memory_order_relaxed);
}

int pool_accounting_threads() { return ThreadPool::account_threads_.load(std::memory_order_relaxed); }

PoolAccount pool_account() {
  std::lock_guard<std::mutex> lock(account_m);
  return account_total;
}

double process_cpu_seconds() { return static_cast<double>(cpu_ns(CLOCK_PROCESS_CPUTIME_ID)) * 1e-9; }

CpuSnapshot cpu_snapshot() { return {process_cpu_seconds(), pool_account()}; }

SerialSplit serial_split(const CpuSnapshot& a, const CpuSnapshot& b, int threads) {
  const double t = std::max(2, threads);
  const double cpu = b.cpu_s - a.cpu_s, work = b.pool.work_s - a.pool.work_s, span = b.pool.span_s - a.pool.span_s;
  const double outside = std::max(0.0, cpu - work);
  const double in_serial = std::max(0.0, (t * span - work) / (t - 1));
  SerialSplit s;
  s.serial_s = outside + in_serial;
  s.parallel_s = std::max(0.0, work - in_serial);
  s.predicted_s = outside + span;
  return s;
}

std::int64_t thread_cpu_ns() { return cpu_ns(CLOCK_THREAD_CPUTIME_ID); }

void ThreadPool::account_region(const std::vector<std::int64_t>& ns) {
  // List scheduling in index order (what the pool's shared counter does): each task goes to the
  // thread that becomes free first.
  const int t = std::max(2, account_threads_.load(std::memory_order_relaxed));
  std::vector<std::int64_t> free_at(static_cast<std::size_t>(t), 0);
  std::int64_t work = 0;
  for (const std::int64_t x : ns) {
    auto it = std::min_element(free_at.begin(), free_at.end());
    *it += x;
    work += x;
  }
  const std::int64_t span = *std::max_element(free_at.begin(), free_at.end());
  std::lock_guard<std::mutex> lock(account_m);
  account_total.work_s += static_cast<double>(work) * 1e-9;
  account_total.span_s += static_cast<double>(span) * 1e-9;
  account_total.regions += 1;
  account_total.tasks += ns.size();
}

void account_parallel_work(const std::vector<std::int64_t>& thread_ns) {
  if (ThreadPool::account_threads_.load(std::memory_order_relaxed) > 0) ThreadPool::account_region(thread_ns);
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  detail::note_pool_threads(threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain() {
  for (;;) {
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= end_) return;
    try {
      call_(fn_, i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_);
      if (!error_) error_ = std::current_exception();
      next_.store(end_, std::memory_order_relaxed);  // stop handing out work
    }
  }
}

namespace {

// Regions come back to back in an inference (about 3 500 in brain64's), and waking a sleeping thread
// took 31-37 us on this project's VMs (futex wake-ups are expensive under its hypervisor). So a worker
// that finishes a job spins this long for the next one before it sleeps, and the caller spins for the
// workers still running tasks of its job. Bounded: an idle pool sleeps within this time and gives its
// core away (libgomp's default spin of ~0.2 s is what made OpenMP slow here). A worker that wakes after
// the caller has claimed every task does not join the job, and the caller never waits for one that has
// not started, so a worker held off its core by another process delays nothing.
constexpr auto kSpin = std::chrono::microseconds(50);

template <class Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

}  // namespace

void ThreadPool::work_loop() {
  in_worker_ = true;
  std::size_t seen = 0;
  for (;;) {
    spin_until([&] {
      return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_acquire) != seen;
    });
    {
      std::unique_lock<std::mutex> lock(m_);
      wake_.wait(lock, [&] { return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_relaxed) != seen; });
      if (stop_.load(std::memory_order_relaxed)) return;
      seen = generation_.load(std::memory_order_relaxed);
      if (closed_ == seen) continue;  // every task was claimed before this worker got here
      running_.fetch_add(1, std::memory_order_relaxed);
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(m_);
      if (running_.fetch_sub(1, std::memory_order_release) == 1 && closed_ == seen) done_.notify_one();
    }
  }
}

void ThreadPool::run(std::size_t begin, std::size_t end, void* fn, Trampoline call) {
  {
    std::lock_guard<std::mutex> lock(m_);
    fn_ = fn;
    call_ = call;
    end_ = end;
    next_.store(begin, std::memory_order_relaxed);
    error_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  // The caller works too (flagged as a worker so nested parallel_for calls run inline).
  in_worker_ = true;
  drain();
  in_worker_ = false;
  // Every task is claimed now: close the job, then wait for the workers still running one of its tasks.
  {
    std::lock_guard<std::mutex> lock(m_);
    closed_ = generation_.load(std::memory_order_relaxed);
  }
  spin_until([&] { return running_.load(std::memory_order_acquire) == 0; });
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return running_.load(std::memory_order_relaxed) == 0; });
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace cryptounet::math
