// AVX-512 IFMA helpers (internal to math/): 52-bit multiply-accumulate for primes below 2^50.
// A sum of products is accumulated as L + H * 2^52 (the low and high 52-bit halves that
// vpmadd52luq / vpmadd52huq add up), then reduced once. Compiled only where the build targets
// IFMA (-march=native on such a CPU); callers keep a scalar path.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
#define CU_HAVE_IFMA 1
// GCC 12 warns inside its own intrinsic headers (_mm512_undefined_epi32); a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

namespace cryptounet::math::simd52 {

inline constexpr std::uint64_t kLimit = std::uint64_t{1} << 50;  // primes below this qualify

inline __m512i set1(std::uint64_t v) { return _mm512_set1_epi64(static_cast<long long>(v)); }

/// Reduces L + H * 2^52 mod p (p < 2^50) to [0, p), for L < 2^56 and H < 2^52 - 16.
struct Reducer {
  __m512i p, two_p, mask52, w, wq, one_q;
  explicit Reducer(std::uint64_t pv) {
    const std::uint64_t w52 = (std::uint64_t{1} << 52) % pv;
    p = set1(pv);
    two_p = set1(2 * pv);
    mask52 = set1((std::uint64_t{1} << 52) - 1);
    w = set1(w52);
    wq = set1(static_cast<std::uint64_t>((static_cast<unsigned __int128>(w52) << 52) / pv));
    one_q = set1((std::uint64_t{1} << 52) / pv);
  }
  [[nodiscard]] __m512i reduce(__m512i lo, __m512i hi) const {
    const __m512i zero = _mm512_setzero_si512();
    hi = _mm512_add_epi64(hi, _mm512_srli_epi64(lo, 52));
    lo = _mm512_and_si512(lo, mask52);
    // hi * (2^52 mod p), Shoup with 52-bit quotient: [0, 2p).
    const __m512i qh = _mm512_madd52hi_epu64(zero, hi, wq);
    __m512i r = _mm512_sub_epi64(_mm512_madd52lo_epu64(zero, hi, w), _mm512_madd52lo_epu64(zero, qh, p));
    r = _mm512_and_si512(r, mask52);
    // lo mod p, Shoup with w = 1: [0, 2p).
    const __m512i ql = _mm512_madd52hi_epu64(zero, lo, one_q);
    const __m512i l = _mm512_sub_epi64(lo, _mm512_madd52lo_epu64(zero, ql, p));
    __m512i s = _mm512_add_epi64(r, l);  // < 4p
    s = _mm512_min_epu64(s, _mm512_sub_epi64(s, two_p));
    return _mm512_min_epu64(s, _mm512_sub_epi64(s, p));
  }
};

}  // namespace cryptounet::math::simd52
#endif
