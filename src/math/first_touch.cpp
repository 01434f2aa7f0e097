#include "cryptounet/math/first_touch.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "cryptounet/math/parallel.h"

namespace cryptounet::math {
namespace {

// Chunks stay below glibc's mmap threshold as the cryptounet program sets it (32 MiB), so they
// come from the heap. A step is an eighth of what the pool holds, between 16 and 128 MiB: a small
// command touches little more than it uses, a 2 GB inference makes a few dozen steps, and the
// heap touched ahead of use never passes 128 MiB.
constexpr std::size_t kChunk = std::size_t{30} << 20;
constexpr std::size_t kMinStep = std::size_t{16} << 20;
constexpr std::size_t kMaxStep = std::size_t{128} << 20;
constexpr std::size_t kPage = 4096;

std::atomic<bool> g_on{false};
std::atomic<int> g_threads{1};
std::mutex g_m;
FirstTouchStats g_stats;  // under g_m (threads read from g_threads)

// Allocates `bytes` of heap in chunks, writes each 4 KiB page once from `threads` threads, frees it.
void touch_heap(std::size_t bytes, int threads) {
  std::vector<char*> chunks;
  std::vector<std::size_t> sizes;
  for (std::size_t done = 0; done < bytes; done += kChunk) {
    const std::size_t size = std::min(kChunk, bytes - done);
    char* c = static_cast<char*>(std::malloc(size));
    if (c == nullptr) break;  // out of memory: the real allocation will say so
    chunks.push_back(c);
    sizes.push_back(size);
  }
  const std::size_t shares = static_cast<std::size_t>(threads);
  std::vector<std::int64_t> ns(shares, 0);
  auto touch = [&](std::size_t share) {
    const std::int64_t t0 = thread_cpu_ns();
    for (std::size_t c = share; c < chunks.size(); c += shares)
      for (std::size_t off = 0; off < sizes[c]; off += kPage) static_cast<volatile char*>(chunks[c])[off] = 0;
    ns[share] = thread_cpu_ns() - t0;
  };
  std::vector<std::thread> helpers;
  std::size_t spawned = 1;
  try {
    for (; spawned < shares; ++spawned) helpers.emplace_back(touch, spawned);
  } catch (...) {  // no more threads to be had: this thread touches the shares left over
  }
  touch(0);
  for (std::size_t share = spawned; share < shares; ++share) touch(share);
  for (auto& h : helpers) h.join();
  account_parallel_work(ns);  // `bench unet`'s serial/parallel split counts this as parallel work
  // Freed newest first, so the chunks merge back into the top of the heap as one free block.
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) std::free(*it);
}

}  // namespace

void set_parallel_first_touch(bool on) { g_on.store(on, std::memory_order_relaxed); }

bool parallel_first_touch() { return g_on.load(std::memory_order_relaxed); }

FirstTouchStats first_touch_stats() {
  std::lock_guard<std::mutex> lock(g_m);
  FirstTouchStats s = g_stats;
  s.threads = g_threads.load(std::memory_order_relaxed);
  return s;
}

namespace detail {

void note_pool_threads(int threads) {
  int cur = g_threads.load(std::memory_order_relaxed);
  while (threads > cur && !g_threads.compare_exchange_weak(cur, threads, std::memory_order_relaxed)) {
  }
}

void before_fresh_allocation(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(g_m);
  const int threads = g_threads.load(std::memory_order_relaxed);
  if (g_on.load(std::memory_order_relaxed) && threads > 1 && g_stats.held_bytes + bytes > g_stats.reserved_bytes) {
    const std::size_t step = std::max(std::clamp(g_stats.held_bytes / 8, kMinStep, kMaxStep),
                                      g_stats.held_bytes + bytes - g_stats.reserved_bytes);
    touch_heap(step, threads);
    g_stats.reserved_bytes += step;
    ++g_stats.steps;
  }
  g_stats.held_bytes += bytes;
}

void after_release(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(g_m);
  g_stats.held_bytes -= std::min(g_stats.held_bytes, bytes);
}

}  // namespace detail
}  // namespace cryptounet::math
