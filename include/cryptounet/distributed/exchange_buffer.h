// A growable byte buffer for large exchanges (World::alltoallv, latency mode's ciphertexts): its
// memory is 2 MiB-aligned and advised for transparent huge pages, is never shrunk and is not
// initialised. It reserves address space (at least 1 GiB, not memory: pages come when first
// written) once, so growing within it keeps the pages already touched: over a run a buffer takes
// fresh pages (and their page faults, costly on a virtual machine: ~6 ms per 2 MiB page measured
// on the 2-core VM) only for its largest exchange, not for each exchange larger than the ones
// before (brain64 at 2 ranks: 4.9, then 38, then 57 MiB used to be 100 MiB of fresh pages per
// buffer, now 57 MiB).
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace cryptounet::distributed {

class ExchangeBuffer {
 public:
  ExchangeBuffer() = default;
  ExchangeBuffer(const ExchangeBuffer&) = delete;
  ExchangeBuffer& operator=(const ExchangeBuffer&) = delete;
  ~ExchangeBuffer() { release(); }

  [[nodiscard]] std::uint8_t* data() { return p_; }
  [[nodiscard]] const std::uint8_t* data() const { return p_; }
  /// Bytes usable without a new reservation.
  [[nodiscard]] std::size_t capacity() const { return cap_; }

  /// Makes room for `bytes` (the old contents are dropped when the reservation is replaced, i.e.
  /// when `bytes` passes capacity()); returns data().
  std::uint8_t* reserve(std::size_t bytes) {
    if (bytes <= cap_) return p_;
    constexpr std::size_t kHuge = std::size_t{2} << 20, kMinReserve = std::size_t{1} << 30;
    const std::size_t cap = (std::max({bytes, 2 * cap_, kMinReserve}) + kHuge - 1) / kHuge * kHuge;
    // Address space for cap bytes on a 2 MiB boundary (the slack before and after is given back).
    void* raw = ::mmap(nullptr, cap + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto base = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (base + kHuge - 1) / kHuge * kHuge;
    if (aligned > base) ::munmap(raw, aligned - base);
    const std::uintptr_t end = base + cap + kHuge;
    if (end > aligned + cap) ::munmap(reinterpret_cast<void*>(aligned + cap), end - (aligned + cap));
#ifdef MADV_HUGEPAGE
    (void)::madvise(reinterpret_cast<void*>(aligned), cap, MADV_HUGEPAGE);
#endif
    release();
    p_ = reinterpret_cast<std::uint8_t*>(aligned);
    cap_ = cap;
    return p_;
  }

 private:
  void release() {
    if (p_ != nullptr) ::munmap(p_, cap_);
    p_ = nullptr;
    cap_ = 0;
  }
  std::uint8_t* p_ = nullptr;
  std::size_t cap_ = 0;
};

}  // namespace cryptounet::distributed
