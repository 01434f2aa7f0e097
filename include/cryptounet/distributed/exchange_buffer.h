// A growable byte buffer for large exchanges (World::alltoallv, latency mode's ciphertexts): its
// memory is 2 MiB-aligned and advised for transparent huge pages, is never shrunk and is not
// initialised, so a buffer kept across exchanges takes fresh pages (and their page faults, costly
// on a virtual machine) only when an exchange is larger than every one before it.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace cryptounet::distributed {

class ExchangeBuffer {
 public:
  ExchangeBuffer() = default;
  ExchangeBuffer(const ExchangeBuffer&) = delete;
  ExchangeBuffer& operator=(const ExchangeBuffer&) = delete;
  ~ExchangeBuffer() { std::free(p_); }

  [[nodiscard]] std::uint8_t* data() { return p_; }
  [[nodiscard]] const std::uint8_t* data() const { return p_; }
  [[nodiscard]] std::size_t capacity() const { return cap_; }

  /// Makes room for `bytes` (the old contents are dropped when it grows); returns data().
  std::uint8_t* reserve(std::size_t bytes) {
    if (bytes <= cap_) return p_;
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t cap = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = nullptr;
    if (posix_memalign(&p, kHuge, cap) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    (void)madvise(p, cap, MADV_HUGEPAGE);
#endif
    std::free(p_);
    p_ = static_cast<std::uint8_t*>(p);
    cap_ = cap;
    return p_;
  }

 private:
  std::uint8_t* p_ = nullptr;
  std::size_t cap_ = 0;
};

}  // namespace cryptounet::distributed
