// The 128-bit security bound on log2(Q*P) for ternary secrets: the largest total modulus for which
// the RLWE instance keeps 128-bit classical security. Source: the HomomorphicEncryption.org
// standard tables (Albrecht et al., "Homomorphic Encryption Standard", 2018; uniform ternary
// secret, 128-bit classical) as shipped by OpenFHE v1.5.1, src/core/lib/lattice/stdlatticeparms.cpp,
// table HEStd_ternary / HEStd_128_classic: N=2^10..2^17 -> 27, 54, 109, 218, 438, 881, 1747, 3523.
// (Until issue 9 this table said 1772 at N=2^16, more than that table allows.)
#pragma once

namespace cryptounet::ckks {

/// Whether parameters must meet the 128-bit bound (the default) or are knowingly insecure.
/// Only tests and demos may ask for insecure_for_tests, and the name says so on purpose.
enum class Security { bits128, insecure_for_tests };

/// Max log2(QP) for 128-bit security at ring degree 2^log_n, or 0 if the table has no entry.
[[nodiscard]] constexpr int max_log_qp_128(int log_n) {
  switch (log_n) {
    case 10: return 27;
    case 11: return 54;
    case 12: return 109;
    case 13: return 218;
    case 14: return 438;
    case 15: return 881;
    case 16: return 1747;
    case 17: return 3523;
    default: return 0;
  }
}

/// Ring degrees below 2^14 are never used for real data here: with room for even a few levels
/// they exceed the bound above, so they are test-only.
inline constexpr int kMinSecureLogN = 14;

}  // namespace cryptounet::ckks
