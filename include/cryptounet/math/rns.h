// Residue number system helpers: a basis of word primes, its CRT constants, and the fast
// (approximate) base conversion Q -> P used by ModUp and ModDown in hybrid key switching
// (Cheon-Han-Kim-Kim-Song, "A full RNS variant of approximate HE", SAC 2018):
//   conv(x)_p = sum_i [x_i * (Q/q_i)^-1]_{q_i} * (Q/q_i) mod p,
// which equals (x + u*Q) mod p for some 0 <= u < #Q: exact up to a small multiple of Q.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cryptounet/math/modarith.h"
#include "cryptounet/math/modulus.h"

namespace cryptounet::math {

class ThreadPool;

/// A set of distinct primes with CRT constants: punctured products Q/q_i (as multi-word
/// integers) and their inverses mod q_i.
class RnsBasis {
 public:
  RnsBasis() = default;
  /// Precondition: distinct primes. Throws InvalidArgument on duplicates or an empty basis.
  explicit RnsBasis(std::vector<Modulus> moduli);

  [[nodiscard]] std::size_t size() const { return moduli_.size(); }
  [[nodiscard]] const Modulus& operator[](std::size_t i) const { return moduli_[i]; }
  [[nodiscard]] const std::vector<Modulus>& moduli() const { return moduli_; }
  /// Q as little-endian 64-bit words (size() words).
  [[nodiscard]] const std::vector<std::uint64_t>& product() const { return product_; }
  /// (Q/q_i)^-1 mod q_i.
  [[nodiscard]] const ShoupOperand& inv_punctured(std::size_t i) const { return inv_punct_[i]; }
  /// Q/q_i as size() little-endian words.
  [[nodiscard]] std::span<const std::uint64_t> punctured(std::size_t i) const {
    return {punct_.data() + i * size(), size()};
  }

  /// CRT composition of one residue vector (residues[i] mod q_i) into the centred integer in
  /// (-Q/2, Q/2], returned as a double (rounded). Cost: O(size()^2) word operations.
  [[nodiscard]] double compose_centered(std::span<const std::uint64_t> residues) const;

 private:
  std::vector<Modulus> moduli_;
  std::vector<std::uint64_t> product_;
  std::vector<std::uint64_t> punct_;
  std::vector<ShoupOperand> inv_punct_;
};

/// Fast base conversion from basis `in` to basis `out` (see the file comment).
class BaseConverter {
 public:
  BaseConverter() = default;
  /// Throws InvalidArgument if `in` is empty or has duplicates.
  BaseConverter(RnsBasis in, std::vector<Modulus> out);

  [[nodiscard]] const RnsBasis& in() const { return in_; }
  [[nodiscard]] const std::vector<Modulus>& out() const { return out_; }

  /// For every j in out_indices: out[k][c] = conv(in[.][c])_{out_{j}} (k is j's position in
  /// out_indices), for c in [0, n). Inputs are coefficient-form limbs with values in [0, q_i);
  /// outputs in [0, p_j). `scratch` must hold in().size()*n words. Parallel over output limbs.
  /// Cost: n * #in Shoup products + n * #in * #out multiply-adds.
  void convert(const std::uint64_t* const* in, std::uint64_t* const* out,
               std::span<const std::size_t> out_indices, std::size_t n, std::uint64_t* scratch,
               ThreadPool* pool = nullptr) const;

  /// The two phases of convert(), for callers that fuse them with other per-limb work.
  /// Phase 1, per input limb i: y_i = x_i * (Q/q_i)^-1 mod q_i into scratch + i*n.
  void prepare_limb(std::size_t i, const std::uint64_t* x, std::uint64_t* scratch, std::size_t n) const;
  /// Phase 2, per output j (after every prepare_limb): out = sum_i y_i * (Q/q_i) mod out_j.
  void convert_one(const std::uint64_t* scratch, std::size_t j, std::uint64_t* out, std::size_t n) const;

  /// Exact, centred conversion (used by ModDown, where the fast conversion's error u*Q and the
  /// floor would bias every coefficient the same way, a low-frequency error that shows up as
  /// outliers in a few slots). After every prepare_limb: u[c] = round(sum_i y_i[c] / q_i) in
  /// floating point (exact unless the fraction is within ~1e-15 of 1/2, where either choice is fine).
  void centred_overflow(const std::uint64_t* scratch, std::uint64_t* u, std::size_t n) const;
  /// The same for coefficients [lo, hi) only (u[c] for c in [lo, hi)): independent per
  /// coefficient, so ranges can run in parallel and give the same words.
  void centred_overflow(const std::uint64_t* scratch, std::uint64_t* u, std::size_t n, std::size_t lo,
                        std::size_t hi) const;
  /// out = (sum_i y_i (Q/q_i) - u Q) mod out_j: the centred representative of x in [-Q/2, Q/2)
  /// reduced mod out_j.
  void convert_one_centred(const std::uint64_t* scratch, const std::uint64_t* u, std::size_t j, std::uint64_t* out,
                           std::size_t n) const;

 private:
  RnsBasis in_;
  std::vector<Modulus> out_;
  std::vector<std::uint64_t> punct_mod_out_;  // [j * #in + i] = (Q/q_i) mod out_j
  std::vector<std::uint64_t> q_mod_out_;      // [j] = Q mod out_j
  std::vector<double> inv_in_;                // [i] = 1 / q_i
  // For the 52-bit (IFMA) path: inputs >= 2^50 are split as y = y_lo + 2^52 y_hi.
  std::vector<std::uint8_t> in_big_;          // [i] = q_i >= 2^50
  std::vector<std::uint64_t> punct_hi_;       // [j * #in + i] = 2^52 (Q/q_i) mod out_j
  std::vector<std::uint8_t> reduce_before_;   // [i] = the 52-bit path reduces its sum before term i
  std::vector<std::uint8_t> out_ifma_;        // [j] = the 52-bit path applies to output j
};

}  // namespace cryptounet::math
