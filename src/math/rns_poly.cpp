#include "cryptounet/math/rns_poly.h"

#include <cstdint>
#include <cstring>
#include <iterator>
#include <mutex>
#include <new>
#include <map>
#include <vector>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/first_touch.h"

namespace cryptounet::math {
namespace {

// Buffers are 64-byte aligned blocks from malloc. The `cryptounet` program runs with glibc's huge-page
// heap and a fixed 32 MiB mmap threshold (apps/cli/huge_page_heap.h), so these blocks come from a heap
// grown in 2 MiB transparent huge pages at varied offsets (README, "Huge-page heap", for the figures).
// Other programs linking this library get ordinary pages unless they set the same tunables.
// Tried here and dropped, same day: (a) each buffer of 2 MiB or more its own 2 MiB-aligned huge mapping
// (user time as low, but RSS +25 % from rounding and more system time from mapping churn: 1 thread
// 10.4-11.2 s); (b) madvise(MADV_HUGEPAGE) on malloc's blocks (no gain). Issue 14 had earlier dropped (a)
// with 64 cache colours: math/mac_many_layer 23-26 ms against 20-22 ms plain, under load ~9.
std::uint64_t* raw_alloc(std::size_t words) {
  return static_cast<std::uint64_t*>(::operator new[](words * sizeof(std::uint64_t), std::align_val_t{64}));
}

void raw_free(std::uint64_t* p) { ::operator delete[](p, std::align_val_t{64}); }

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
    detail::before_fresh_allocation(words * sizeof(std::uint64_t));
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
    std::size_t released = 0;
    for (auto& e : evicted) {
      raw_free(e.first);
      released += e.second * sizeof(std::uint64_t);
    }
    if (p) {
      raw_free(p);
      released += bytes;
    }
    if (released != 0) detail::after_release(released);
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
  if (!p || words == 0) return;  // words 0 with storage: a view (allocate() never gives that)
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

RnsPoly RnsPoly::view(std::uint64_t* data, std::size_t n, std::size_t limbs) {
  RnsPoly p;
  p.n_ = n;
  p.limbs_ = limbs;
  p.data_ = std::unique_ptr<std::uint64_t[], Free>(data, Free{0});  // words 0: not ours to free
  return p;
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
