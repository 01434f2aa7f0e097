// A polynomial of Z_Q[X]/(X^N+1) in RNS form: `limbs` residue polynomials of N words each, stored
// contiguously (limb i at data() + i*N), 64-byte aligned. Owns its storage (except a view());
// copies are deep.
// Storage comes from a process-wide pool of freed buffers (bounded, see rns_poly.cpp): CKKS
// operations allocate megabytes of temporaries, and fresh pages from the OS cost a page fault
// each, which made a ciphertext addition slower than the addition itself.
// Whether the limbs hold coefficients or NTT evaluations, and under which primes, is the owner's
// business (ckks::Ciphertext and friends record it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace cryptounet::math {

class RnsPoly {
 public:
  RnsPoly() = default;
  /// Uninitialised storage for `limbs` limbs of n words.
  RnsPoly(std::size_t n, std::size_t limbs);
  /// All-zero polynomial.
  [[nodiscard]] static RnsPoly zeros(std::size_t n, std::size_t limbs);
  /// A polynomial over `limbs` limbs of n words at `data`, which the caller owns and keeps alive
  /// (memory shared between processes, say): never freed here. Copies of it are ordinary
  /// polynomials with their own storage, and so is a view that is assigned a copy.
  [[nodiscard]] static RnsPoly view(std::uint64_t* data, std::size_t n, std::size_t limbs);

  RnsPoly(const RnsPoly& other);
  RnsPoly& operator=(const RnsPoly& other);
  RnsPoly(RnsPoly&& other) noexcept
      : n_(std::exchange(other.n_, 0)), limbs_(std::exchange(other.limbs_, 0)),
        capacity_(std::exchange(other.capacity_, 0)), data_(std::move(other.data_)) {}
  RnsPoly& operator=(RnsPoly&& other) noexcept {
    n_ = std::exchange(other.n_, 0);
    limbs_ = std::exchange(other.limbs_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    data_ = std::move(other.data_);
    return *this;
  }
  ~RnsPoly() = default;

  [[nodiscard]] std::size_t n() const { return n_; }
  [[nodiscard]] std::size_t limbs() const { return limbs_; }
  [[nodiscard]] bool empty() const { return limbs_ == 0; }
  [[nodiscard]] std::uint64_t* data() { return data_.get(); }
  [[nodiscard]] const std::uint64_t* data() const { return data_.get(); }
  [[nodiscard]] std::uint64_t* limb(std::size_t i) { return data_.get() + i * n_; }
  [[nodiscard]] const std::uint64_t* limb(std::size_t i) const { return data_.get() + i * n_; }

  /// Keeps the first `limbs` limbs (no reallocation). Precondition: limbs <= this->limbs().
  void truncate(std::size_t limbs);
  /// A copy of the first `limbs` limbs.
  [[nodiscard]] RnsPoly prefix(std::size_t limbs) const;
  /// Overwrites every word with zeros through a volatile pointer (for secrets).
  void wipe();

 private:
  struct Free {
    Free() noexcept : words(0) {}
    explicit Free(std::size_t w) noexcept : words(w) {}
    std::size_t words;
    void operator()(std::uint64_t* p) const;
  };
  std::size_t n_ = 0;
  std::size_t limbs_ = 0;
  std::size_t capacity_ = 0;  // words allocated (0 for a view: a copy assigned to it allocates)
  std::unique_ptr<std::uint64_t[], Free> data_;
};

}  // namespace cryptounet::math
