#include "cryptounet/math/lazy_mac.h"

#include "simd52.h"

namespace cryptounet::math::kernels {
namespace {

constexpr std::uint32_t kLazyTerms = 15;  // products summed before one reduction (see header)

// 128-bit sums: a product of two words below q < 2^62 is below 2^124, so 15 of them plus a
// reduced running value stay below 2^128.
void mac_scalar(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
                const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q) {
  for (std::size_t a = 0; a < terms.outputs; ++a) {
    const std::uint32_t b = terms.begin[a], e = terms.begin[a + 1];
    if (b == e) continue;
    std::uint64_t* o = out[a];
    const bool acc = accumulate[a] != 0;
    std::size_t i = lo;
    // Four coefficients per pass: the term's index, pointer and weight are loaded once for four.
    for (; i + 4 <= hi; i += 4) {
      unsigned __int128 s0 = acc ? o[i] : 0, s1 = acc ? o[i + 1] : 0, s2 = acc ? o[i + 2] : 0, s3 = acc ? o[i + 3] : 0;
      std::uint32_t m = b;
      while (m < e) {
        const std::uint32_t stop = (e - m > kLazyTerms) ? m + kLazyTerms : e;
        for (; m < stop; ++m) {
          const std::uint64_t* x = in[terms.in_index[m]] + i;
          const std::uint64_t w = terms.weight[m];
          s0 += static_cast<unsigned __int128>(x[0]) * w;
          s1 += static_cast<unsigned __int128>(x[1]) * w;
          s2 += static_cast<unsigned __int128>(x[2]) * w;
          s3 += static_cast<unsigned __int128>(x[3]) * w;
        }
        if (m < e) {
          s0 = q.reduce128(s0);
          s1 = q.reduce128(s1);
          s2 = q.reduce128(s2);
          s3 = q.reduce128(s3);
        }
      }
      o[i] = q.reduce128(s0);
      o[i + 1] = q.reduce128(s1);
      o[i + 2] = q.reduce128(s2);
      o[i + 3] = q.reduce128(s3);
    }
    for (; i < hi; ++i) {
      unsigned __int128 s = acc ? o[i] : 0;
      std::uint32_t m = b;
      while (m < e) {
        const std::uint32_t stop = (e - m > kLazyTerms) ? m + kLazyTerms : e;
        for (; m < stop; ++m) s += static_cast<unsigned __int128>(in[terms.in_index[m]][i]) * terms.weight[m];
        if (m < e) s = q.reduce128(s);
      }
      o[i] = q.reduce128(s);
    }
  }
}

#ifdef CU_HAVE_IFMA
// Four vectors (32 coefficients) per output at a time: 8 accumulators in registers, each input
// vector loaded once per output from L1 (the caller's block keeps the inputs cache-resident).
void mac_ifma(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
              const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q) {
  const simd52::Reducer red(q.value());
  const __m512i zero = _mm512_setzero_si512();
  constexpr std::size_t kV = 4, kW = 8 * kV;
  std::size_t i = lo;
  for (; i + kW <= hi; i += kW) {
    for (std::size_t a = 0; a < terms.outputs; ++a) {
      const std::uint32_t b = terms.begin[a], e = terms.begin[a + 1];
      if (b == e) continue;
      std::uint64_t* o = out[a] + i;
      __m512i L[kV], H[kV];
      for (std::size_t v = 0; v < kV; ++v) {
        L[v] = accumulate[a] ? _mm512_loadu_si512(o + 8 * v) : zero;
        H[v] = zero;
      }
      std::uint32_t m = b;
      while (m < e) {
        const std::uint32_t stop = (e - m > kLazyTerms) ? m + kLazyTerms : e;
        for (; m < stop; ++m) {
          const std::uint64_t* x = in[terms.in_index[m]] + i;
          const __m512i w = simd52::set1(terms.weight[m]);
          for (std::size_t v = 0; v < kV; ++v) {
            const __m512i xv = _mm512_loadu_si512(x + 8 * v);
            L[v] = _mm512_madd52lo_epu64(L[v], xv, w);
            H[v] = _mm512_madd52hi_epu64(H[v], xv, w);
          }
        }
        if (m < e)
          for (std::size_t v = 0; v < kV; ++v) {
            L[v] = red.reduce(L[v], H[v]);
            H[v] = zero;
          }
      }
      for (std::size_t v = 0; v < kV; ++v) _mm512_storeu_si512(o + 8 * v, red.reduce(L[v], H[v]));
    }
  }
  if (i < hi) mac_scalar(in, out, accumulate, terms, i, hi, q);
}
#endif

}  // namespace

void mac_many(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
              const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q) {
#ifdef CU_HAVE_IFMA
  if (q.value() < simd52::kLimit) {
    mac_ifma(in, out, accumulate, terms, lo, hi, q);
    return;
  }
#endif
  mac_scalar(in, out, accumulate, terms, lo, hi, q);
}

}  // namespace cryptounet::math::kernels
