// Randomness: OS entropy through OpenSSL's RAND_bytes, and a deterministic stream expanded from a
// 32-byte seed with SHAKE-256 (so uniform key and ciphertext halves can be stored as their seed).
// The stream is SHAKE-256(seed || domain || block counter) in 4 KiB blocks: OpenSSL 3.0 cannot
// squeeze a XOF incrementally, and independent blocks keep the expansion a pure function of
// (seed, domain, position).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace cryptounet::math {

using Seed = std::array<std::uint8_t, 32>;

/// 32 bytes of OS entropy. Throws SecurityError if the OS generator fails.
[[nodiscard]] Seed random_seed();
/// Fills `out` with OS entropy. Throws SecurityError on failure.
void random_bytes(std::uint8_t* out, std::size_t len);

/// A deterministic byte stream from (seed, domain). Not thread-safe; cheap to create.
class Prng {
 public:
  explicit Prng(const Seed& seed, std::uint64_t domain = 0);
  ~Prng();
  Prng(const Prng&) = delete;
  Prng& operator=(const Prng&) = delete;

  void fill(std::uint8_t* out, std::size_t len);
  [[nodiscard]] std::uint64_t next_u64();
  [[nodiscard]] std::uint8_t next_u8();

 private:
  void refill();
  static constexpr std::size_t kBlock = 4096;  // one SHAKE-256 output per block counter
  static constexpr std::size_t kBatch = 8;     // blocks made per refill (eight Keccak ways in AVX-512)
  Seed seed_;
  std::uint64_t domain_;
  std::uint64_t counter_ = 0;
  std::size_t pos_ = kBlock * kBatch;
  std::array<std::uint8_t, kBlock * kBatch> buf_{};
};

namespace detail {
/// SHAKE-256(seed || domain || counter) through OpenSSL, len bytes: the definition the stream
/// must match, for tests.
void shake_reference_block(const Seed& seed, std::uint64_t domain, std::uint64_t counter, std::uint8_t* out,
                           std::size_t len);
}  // namespace detail

}  // namespace cryptounet::math
