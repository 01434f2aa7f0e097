#include "cryptounet/math/rns_poly.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <new>
#include <map>
#include <vector>
#include <string>

#include "cryptounet/common/error.h"

namespace cryptounet::math {
namespace {

// Buffers of 2 MiB or more start on a 2 MiB boundary and are marked for transparent huge pages:
// one page fault (and one TLB entry) per 2 MiB instead of 512. On the shared virtual machines
// this project runs on, 4 KiB page faults of fresh buffers were ~15 % of an inference profile.
constexpr std::size_t kHugeBytes = std::size_t{2} << 20;

// Cache colouring: limbs are N words apart (a power of two), and buffers start on 64 B, 2 MiB
// boundaries, so the same limb of different polynomials maps to the same cache sets (L1 and, on
// huge pages, the physically indexed L2 as well). A kernel streaming one limb of many polynomials at
// once (Evaluator::mul_const_accumulate reads 9 masked products and writes 32 accumulators; the
// key-switch inner products) then evicts its own lines: on brain128's enc.2 the accumulator loads
// took most of the layer. Each buffer therefore starts `colour` x 17 cache lines after its
// allocation (colour 1..kColours, in turn), which spreads the same limb of consecutive buffers over
// different L1 and L2 sets. The allocation's start is kept in the word before the buffer.
constexpr std::size_t kColours = 64, kColourBytes = 17 * 64;

std::uint64_t* raw_alloc(std::size_t words) {
  static std::atomic<std::size_t> next{0};
  const std::size_t colour = 1 + next.fetch_add(1, std::memory_order_relaxed) % kColours;
  const std::size_t offset = colour * kColourBytes;
  const std::size_t bytes = words * sizeof(std::uint64_t) + offset;
  void* p = nullptr;
  if (posix_memalign(&p, bytes >= kHugeBytes ? kHugeBytes : 64, bytes) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (bytes >= kHugeBytes) (void)madvise(p, bytes & ~(kHugeBytes - 1), MADV_HUGEPAGE);
#endif
  auto* buf = reinterpret_cast<std::uint64_t*>(static_cast<char*>(p) + offset);
  buf[-1] = reinterpret_cast<std::uintptr_t>(p);
  return buf;
}

void raw_free(std::uint64_t* p) { std::free(reinterpret_cast<void*>(static_cast<std::uintptr_t>(p[-1]))); }

// Freed buffers by size, up to kCapBytes in total. A request takes the smallest free buffer of
// at least its size and at most twice it (levels only go down during an evaluation, so buffers
// of a higher level serve the lower ones without new pages being faulted in and cleared). When a
// freed buffer would pass the cap, the buffers of the size least recently asked for go back to the
// OS first (sizes of levels already left; not the key-switching temporaries every rotation
// needs). Never destroyed, so polynomials in static objects can be freed during exit.
class BufferPool {
 public:
  static constexpr std::size_t kCapBytes = std::size_t{512} << 20;

  std::pair<std::uint64_t*, std::size_t> get(std::size_t words) {
    {
      std::lock_guard<std::mutex> lock(m_);
      ++tick_;
      auto it = free_.lower_bound(words);
      if (it != free_.end() && it->first <= 2 * words) {
        std::uint64_t* p = it->second.bufs.back();
        const std::size_t w = it->first;
        it->second.bufs.pop_back();
        it->second.used = tick_;
        if (it->second.bufs.empty()) free_.erase(it);
        bytes_ -= w * sizeof(std::uint64_t);
        return {p, w};
      }
    }
    return {raw_alloc(words), words};
  }

  void put(std::uint64_t* p, std::size_t words) {
    const std::size_t bytes = words * sizeof(std::uint64_t);
    std::vector<std::pair<std::uint64_t*, std::size_t>> evicted;
    {
      std::lock_guard<std::mutex> lock(m_);
      if (bytes <= kCapBytes) {
        while (bytes_ + bytes > kCapBytes && !free_.empty()) {
          auto lru = free_.begin();
          for (auto it = free_.begin(); it != free_.end(); ++it)
            if (it->second.used < lru->second.used) lru = it;
          evicted.emplace_back(lru->second.bufs.back(), lru->first);
          bytes_ -= lru->first * sizeof(std::uint64_t);
          lru->second.bufs.pop_back();
          if (lru->second.bufs.empty()) free_.erase(lru);
        }
        Class& c = free_[words];
        c.bufs.push_back(p);
        c.used = ++tick_;
        bytes_ += bytes;
        p = nullptr;
      }
    }
    for (auto& e : evicted) raw_free(e.first);
    if (p) raw_free(p);
  }

 private:
  std::mutex m_;
  struct Class {
    std::vector<std::uint64_t*> bufs;
    std::uint64_t used = 0;  // tick of the last get or put of this size
  };
  std::map<std::size_t, Class> free_;
  std::size_t bytes_ = 0;
  std::uint64_t tick_ = 0;
};

BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // intentionally leaked (see above)
  return *p;
}

// Under AddressSanitizer, memory goes straight back to the allocator so use-after-free is caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif

/// A buffer of at least `words` words and its true size.
std::pair<std::uint64_t*, std::size_t> allocate(std::size_t words) {
  if (words == 0) return {nullptr, 0};
  if (kPooled) return pool().get(words);
  return {raw_alloc(words), words};
}

}  // namespace

void RnsPoly::Free::operator()(std::uint64_t* p) const {
  if (!p) return;
  if (kPooled) {
    pool().put(p, words);
  } else {
    raw_free(p);
  }
}

RnsPoly::RnsPoly(std::size_t n, std::size_t limbs) : n_(n), limbs_(limbs) {
  const auto [p, words] = allocate(n * limbs);
  capacity_ = words;
  data_ = std::unique_ptr<std::uint64_t[], Free>(p, Free{words});
}

RnsPoly RnsPoly::zeros(std::size_t n, std::size_t limbs) {
  RnsPoly p(n, limbs);
  if (n * limbs != 0) std::memset(p.data(), 0, n * limbs * sizeof(std::uint64_t));
  return p;
}

RnsPoly::RnsPoly(const RnsPoly& other) : n_(other.n_), limbs_(other.limbs_) {
  const auto [p, words] = allocate(n_ * limbs_);
  capacity_ = words;
  data_ = std::unique_ptr<std::uint64_t[], Free>(p, Free{words});
  if (n_ * limbs_ != 0) std::memcpy(data_.get(), other.data_.get(), n_ * limbs_ * sizeof(std::uint64_t));
}

RnsPoly& RnsPoly::operator=(const RnsPoly& other) {
  if (this == &other) return *this;
  if (capacity_ < other.n_ * other.limbs_ || !data_) {
    const auto [p, words] = allocate(other.n_ * other.limbs_);
    data_ = std::unique_ptr<std::uint64_t[], Free>(p, Free{words});
    capacity_ = words;
  }
  n_ = other.n_;
  limbs_ = other.limbs_;
  if (n_ * limbs_ != 0) std::memcpy(data_.get(), other.data_.get(), n_ * limbs_ * sizeof(std::uint64_t));
  return *this;
}

void RnsPoly::truncate(std::size_t limbs) {
  if (limbs > limbs_) throw InvalidArgument("RnsPoly::truncate: cannot grow from " + std::to_string(limbs_) + " to " + std::to_string(limbs) + " limbs");
  limbs_ = limbs;
}

RnsPoly RnsPoly::prefix(std::size_t limbs) const {
  if (limbs > limbs_) throw InvalidArgument("RnsPoly::prefix: " + std::to_string(limbs) + " > " + std::to_string(limbs_) + " limbs");
  RnsPoly p(n_, limbs);
  if (n_ * limbs != 0) std::memcpy(p.data(), data(), n_ * limbs * sizeof(std::uint64_t));
  return p;
}

void RnsPoly::wipe() {
  volatile std::uint64_t* p = data_.get();
  const std::size_t words = capacity_;
  for (std::size_t i = 0; i < words; ++i) p[i] = 0;
}

}  // namespace cryptounet::math
