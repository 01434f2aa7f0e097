#include "cryptounet/math/rns_poly.h"

#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>
#include <string>

#include "cryptounet/common/error.h"

namespace cryptounet::math {
namespace {

// Freed buffers by exact size, up to kCapBytes in total (beyond that, memory goes back to the
// OS). Never destroyed, so polynomials in static objects can be freed during exit.
class BufferPool {
 public:
  static constexpr std::size_t kCapBytes = std::size_t{512} << 20;

  std::uint64_t* get(std::size_t words) {
    {
      std::lock_guard<std::mutex> lock(m_);
      auto it = free_.find(words);
      if (it != free_.end() && !it->second.empty()) {
        std::uint64_t* p = it->second.back();
        it->second.pop_back();
        bytes_ -= words * sizeof(std::uint64_t);
        return p;
      }
    }
    return static_cast<std::uint64_t*>(::operator new[](words * sizeof(std::uint64_t), std::align_val_t{64}));
  }

  void put(std::uint64_t* p, std::size_t words) {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (bytes_ + words * sizeof(std::uint64_t) <= kCapBytes) {
        free_[words].push_back(p);
        bytes_ += words * sizeof(std::uint64_t);
        return;
      }
    }
    ::operator delete[](p, std::align_val_t{64});
  }

 private:
  std::mutex m_;
  std::unordered_map<std::size_t, std::vector<std::uint64_t*>> free_;
  std::size_t bytes_ = 0;
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

std::uint64_t* allocate(std::size_t words) {
  if (words == 0) return nullptr;
  if (kPooled) return pool().get(words);
  return static_cast<std::uint64_t*>(::operator new[](words * sizeof(std::uint64_t), std::align_val_t{64}));
}

}  // namespace

void RnsPoly::Free::operator()(std::uint64_t* p) const {
  if (!p) return;
  if (kPooled) {
    pool().put(p, words);
  } else {
    ::operator delete[](p, std::align_val_t{64});
  }
}

RnsPoly::RnsPoly(std::size_t n, std::size_t limbs) : n_(n), limbs_(limbs), capacity_(n * limbs), data_(allocate(n * limbs), Free{n * limbs}) {}

RnsPoly RnsPoly::zeros(std::size_t n, std::size_t limbs) {
  RnsPoly p(n, limbs);
  if (n * limbs != 0) std::memset(p.data(), 0, n * limbs * sizeof(std::uint64_t));
  return p;
}

RnsPoly::RnsPoly(const RnsPoly& other) : n_(other.n_), limbs_(other.limbs_), capacity_(other.n_ * other.limbs_), data_(allocate(other.n_ * other.limbs_), Free{other.n_ * other.limbs_}) {
  if (n_ * limbs_ != 0) std::memcpy(data_.get(), other.data_.get(), n_ * limbs_ * sizeof(std::uint64_t));
}

RnsPoly& RnsPoly::operator=(const RnsPoly& other) {
  if (this == &other) return *this;
  if (capacity_ < other.n_ * other.limbs_ || !data_) {
    data_ = std::unique_ptr<std::uint64_t[], Free>(allocate(other.n_ * other.limbs_), Free{other.n_ * other.limbs_});
    capacity_ = other.n_ * other.limbs_;
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
