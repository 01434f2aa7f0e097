// Parallel first touch of fresh heap memory (off by default).
//
// The kernel clears a page of fresh memory when it is first written, on the writing thread. glibc
// writes a chunk header into fresh heap when it grows the heap or splits a chunk, so under
// transparent huge pages nearly every 2 MiB page of the polynomial buffers is first written, and
// cleared, by the thread that calls malloc: in a 2-thread `infer`, the calling thread did almost
// all of the page clearing (perf: clear_page_erms 9.8 % of the samples on it, 0.6 % on the worker),
// so that system time did not divide over threads.
//
// When on, RnsPoly's buffer pool (rns_poly.cpp) reserves fresh heap ahead of its allocations:
// before a buffer would take heap that was never touched, a step of at least 128 MiB is allocated
// in chunks below the mmap threshold, written once per 4 KiB by as many threads as the largest
// ThreadPool made so far (each thread its share of the chunks), and freed; the buffers then come
// from pages that are already cleared. Reserved bytes are tracked against the bytes the pool holds
// from malloc, so a run reserves about its peak once.
//
// It needs glibc to keep freed heap instead of trimming it (glibc.malloc.trim_threshold raised) and
// chunks of 30 MiB to come from the heap (mmap threshold above that): the cryptounet program sets
// both with its huge-page heap (apps/cli/huge_page_heap.h) and turns this on only then.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cryptounet::math {

void set_parallel_first_touch(bool on);
[[nodiscard]] bool parallel_first_touch();

/// What the reservation did so far in this process (for tests and `info`).
struct FirstTouchStats {
  std::size_t reserved_bytes = 0;  ///< heap touched ahead of use, in total
  std::size_t held_bytes = 0;      ///< bytes the buffer pool holds from malloc now
  std::uint64_t steps = 0;         ///< reservations made
  int threads = 0;                 ///< threads that touch (the largest ThreadPool's size)
};
[[nodiscard]] FirstTouchStats first_touch_stats();

namespace detail {
/// ThreadPool's constructor reports its size here: the touching uses the largest.
void note_pool_threads(int threads);
/// The buffer pool is about to take `bytes` of fresh memory from malloc: reserve first if needed.
void before_fresh_allocation(std::size_t bytes);
/// The buffer pool gave `bytes` back to malloc.
void after_release(std::size_t bytes);
}  // namespace detail

}  // namespace cryptounet::math
