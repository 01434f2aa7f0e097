// Negacyclic number-theoretic transform over Z_q[X]/(X^N + 1): a(X) -> (a(psi^(2*br(i)+1)))_i, the
// evaluations at the odd powers of a primitive 2N-th root psi, in bit-reversed order (SEAL's
// convention). Harvey's butterflies with Shoup twiddles keep values lazily in [0, 4q) between
// layers ([0, 8q) in the AVX-512 64-bit kernel, for primes below 2^60); the public transforms take
// and return values in [0, q). Cost: (N/2) log2 N butterflies
// of 2 multiplications each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cryptounet/math/aligned_vector.h"
#include "cryptounet/math/modarith.h"
#include "cryptounet/math/modulus.h"

namespace cryptounet::math {

/// Twiddle tables for one prime and one ring degree.
class NttTables {
 public:
  /// Preconditions: n a power of two in [2, 2^17], q prime with q = 1 (mod 2n). Throws InvalidArgument.
  NttTables(std::size_t n, const Modulus& q);

  [[nodiscard]] std::size_t n() const { return n_; }
  [[nodiscard]] int log_n() const { return log_n_; }
  [[nodiscard]] const Modulus& modulus() const { return q_; }
  /// The primitive 2n-th root psi used (the smallest one).
  [[nodiscard]] std::uint64_t root() const { return psi_; }
  /// psi^br(i), i in [0, n), as Shoup operands (br: bit reversal on log2 n bits).
  [[nodiscard]] const ShoupOperand* root_powers() const { return roots_.data(); }
  /// psi^-br(i).
  [[nodiscard]] const ShoupOperand* inv_root_powers() const { return inv_roots_.data(); }
  /// n^-1 mod q and n^-1 * psi^-br(1) (the last inverse layer folds in the 1/n factor).
  [[nodiscard]] const ShoupOperand& inv_n() const { return inv_n_; }
  [[nodiscard]] const ShoupOperand& inv_n_root() const { return inv_n_root_; }
  /// Shoup quotients floor(w * 2^52 / q) of root_powers / inv_root_powers / inv_n / inv_n_root,
  /// for the AVX-512 IFMA (52-bit multiplier) kernels; empty unless q < 2^50.
  [[nodiscard]] const AlignedVector<std::uint64_t>& root_q52() const { return roots_q52_; }
  [[nodiscard]] const AlignedVector<std::uint64_t>& inv_root_q52() const { return inv_roots_q52_; }
  [[nodiscard]] std::uint64_t inv_n_q52() const { return inv_n_q52_; }
  [[nodiscard]] std::uint64_t inv_n_root_q52() const { return inv_n_root_q52_; }
  /// The same twiddles split into contiguous arrays (values, 64-bit Shoup quotients) for the
  /// vector kernels, which load eight consecutive twiddles at once (64-byte aligned arrays).
  [[nodiscard]] const std::uint64_t* root_values() const { return root_w_.data(); }
  [[nodiscard]] const std::uint64_t* root_quotients() const { return root_wq_.data(); }
  [[nodiscard]] const std::uint64_t* inv_root_values() const { return inv_root_w_.data(); }
  [[nodiscard]] const std::uint64_t* inv_root_quotients() const { return inv_root_wq_.data(); }

 private:
  std::size_t n_;
  int log_n_;
  Modulus q_;
  std::uint64_t psi_;
  std::vector<ShoupOperand> roots_;
  std::vector<ShoupOperand> inv_roots_;
  ShoupOperand inv_n_;
  ShoupOperand inv_n_root_;
  AlignedVector<std::uint64_t> roots_q52_;
  AlignedVector<std::uint64_t> inv_roots_q52_;
  std::uint64_t inv_n_q52_ = 0;
  std::uint64_t inv_n_root_q52_ = 0;
  AlignedVector<std::uint64_t> root_w_, root_wq_, inv_root_w_, inv_root_wq_;  // 64-byte aligned
};

/// Whether this build has the AVX-512 IFMA NTT (used for primes below 2^50).
[[nodiscard]] bool ntt_has_ifma();

/// Process-wide count of one-limb transforms (forward + inverse) since start, for cost reports
/// and benchmark counters (a relaxed atomic increment per transform).
[[nodiscard]] std::uint64_t ntt_count();

/// In place, coefficient order -> bit-reversed evaluations. Input and output in [0, q).
void ntt_forward(std::uint64_t* a, const NttTables& t);
/// As ntt_forward, but input may be in [0, 4q) and output stays in [0, 4q).
void ntt_forward_lazy(std::uint64_t* a, const NttTables& t);
/// In place, bit-reversed evaluations -> coefficients (includes the 1/n). Input and output in [0, q).
void ntt_inverse(std::uint64_t* a, const NttTables& t);
/// As ntt_inverse, but input may be in [0, 2q) and output is in [0, 2q).
void ntt_inverse_lazy(std::uint64_t* a, const NttTables& t);

namespace detail {
/// The portable (scalar) transforms, which builds with AVX-512 bypass for n >= 32: exposed so that
/// tests check them in every build. Same contracts as the public functions (lazy or full range).
void ntt_forward_scalar(std::uint64_t* a, const NttTables& t, bool lazy);
void ntt_inverse_scalar(std::uint64_t* a, const NttTables& t, bool lazy);
}  // namespace detail

}  // namespace cryptounet::math
