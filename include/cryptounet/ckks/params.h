// CKKS parameters: a plain literal (ring degree, prime sizes, scale, digits, security intent) and
// the checked, immutable Params built from it. Primes are generated deterministically from the
// literal: q0 and special primes just below 2^bits, scale primes (those of log_scale bits)
// alternately just below and above 2^log_scale so the scale stays near 2^log_scale after rescales.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cryptounet/ckks/security.h"

namespace cryptounet::ckks {

/// Aggregate; write it with designated initializers.
struct ParamsLiteral {
  int log_n = 0;               ///< ring degree N = 2^log_n, 10..16 (< 14 only with insecure_for_tests)
  std::vector<int> log_q;      ///< bit sizes of the ciphertext primes, q0 first (e.g. {60, 40, 40, ...})
  std::vector<int> log_p;      ///< bit sizes of the special (key-switching) primes
  int log_scale = 40;          ///< default scale 2^log_scale
  int dnum = 0;                ///< key-switching digits; 0 = ceil(#Q / #P)
  Security security = Security::bits128;
};

class Params {
 public:
  /// Checks the literal and generates the primes. Throws InvalidArgument (sizes out of range:
  /// log_n not in 10..16, a prime size not in [20, 60], no Q or P primes, dnum not in 1..#Q, a
  /// special modulus P too small for the largest digit) or SecurityError (log_n < 14 or log2(QP)
  /// above the 128-bit bound, unless security == insecure_for_tests).
  [[nodiscard]] static Params from_literal(const ParamsLiteral& lit);

  [[nodiscard]] int log_n() const { return lit_.log_n; }
  [[nodiscard]] std::size_t n() const { return std::size_t{1} << lit_.log_n; }
  [[nodiscard]] std::size_t slots() const { return n() / 2; }
  /// #Q - 1; a ciphertext at level l has l + 1 limbs.
  [[nodiscard]] int max_level() const { return static_cast<int>(q_.size()) - 1; }
  [[nodiscard]] double log_q() const { return log_q_; }
  [[nodiscard]] double log_p() const { return log_p_; }
  [[nodiscard]] double log_qp() const { return log_q_ + log_p_; }
  [[nodiscard]] int log_scale() const { return lit_.log_scale; }
  [[nodiscard]] double default_scale() const;
  /// Number of key-switching digits actually used (digits of ceil(#Q / dnum) primes).
  [[nodiscard]] int dnum() const { return dnum_; }
  /// Primes per digit (the last digit may have fewer).
  [[nodiscard]] int digit_size() const { return alpha_; }
  [[nodiscard]] const std::vector<std::uint64_t>& q() const { return q_; }
  [[nodiscard]] const std::vector<std::uint64_t>& p() const { return p_; }
  /// A 64-bit hash of N, the primes, the scale, dnum and the security flag: ciphertexts, keys and
  /// plaintexts carry it so that mixing parameter sets is an error, not garbage.
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_; }
  [[nodiscard]] Security security() const { return lit_.security; }
  [[nodiscard]] const ParamsLiteral& literal() const { return lit_; }

 private:
  Params() = default;
  ParamsLiteral lit_;
  std::vector<std::uint64_t> q_;
  std::vector<std::uint64_t> p_;
  double log_q_ = 0;
  double log_p_ = 0;
  int dnum_ = 0;
  int alpha_ = 0;
  std::uint64_t fingerprint_ = 0;
};

/// Why `params` fall short of 128-bit security by this engine's own check (N >= 2^14 and log2(QP)
/// within max_log_qp_128), or "" when they meet it. The literal's `security` field is ignored on
/// purpose: parameters received from someone else (a server's plan) are judged by their numbers,
/// not by their label.
[[nodiscard]] std::string insecurity_reason(const Params& params);

/// Named 128-bit parameter sets (scale 2^40). Key switching costs about d(l+k) + 2k + 2l NTTs for
/// l Q-limbs, k special primes and d digits; few digits with enough special primes beat SEAL's
/// one-prime-per-digit by 3-5x while staying inside the HE-standard bound. Special primes are
/// below 2^50 so that their NTTs run on the AVX-512 IFMA kernels (3x faster than 60-bit ones);
/// only q0 (60 bits, the room for the message at level 0) uses the scalar kernels.
namespace presets {

/// P1: N=2^14, Q = 60 + 5x40 (5 levels), P = 3x50, dnum 2 (digits of 3 primes, <= 140 bits, P = 150
/// bits covers them); log2(QP) ~ 410 <= 438.
[[nodiscard]] Params P1();
/// P2: N=2^15, Q = 60 + 13x40 (13 levels), P = 6x50, dnum 2 (digits of 7 primes, <= 300 bits);
/// log2(QP) ~ 880 <= 881. The U-Net's set: params_128_logn15_logqp880().
[[nodiscard]] Params P2();
/// P3: N=2^16, Q = 60 + 28x40 (28 levels), P = 9x50, dnum 3 (digits of 10, 10, 9 primes, <= 420
/// bits; P = 450 bits); log2(QP) ~ 1630 <= 1747.
[[nodiscard]] Params P3();
[[nodiscard]] inline Params params_128_logn14_logqp410() { return P1(); }
[[nodiscard]] inline Params params_128_logn15_logqp880() { return P2(); }
[[nodiscard]] inline Params params_128_logn16_logqp1630() { return P3(); }
/// Small, insecure, fast sets for tests: N = 2^log_n, Q = 60 + levels x 40, P = 2x60 (dnum from
/// the literal rule).
[[nodiscard]] Params insecure_test(int log_n, int levels, int dnum = 0);

}  // namespace presets
}  // namespace cryptounet::ckks
