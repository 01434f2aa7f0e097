#include "cryptounet/math/parallel.h"

namespace cryptounet::math {

thread_local bool ThreadPool::in_worker_ = false;

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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

void ThreadPool::work_loop() {
  in_worker_ = true;
  std::size_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(m_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(m_);
      if (--active_ == 0) done_.notify_one();
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
    active_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  // The caller works too (flagged as a worker so nested parallel_for calls run inline).
  in_worker_ = true;
  drain();
  in_worker_ = false;
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return active_ == 0; });
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace cryptounet::math
