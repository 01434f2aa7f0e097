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
// The outputs are many streams at once (one chunk of every output in turn), too many for the
// hardware prefetchers: each output's next chunk is requested while this one is computed, so its
// load is not a memory-latency stall (it was most of mac_many's time in brain128's enc.2).
inline void prefetch_next(const std::uint64_t* o, std::size_t words) {
  for (std::size_t l = 0; l < words; l += 8)
    _mm_prefetch(reinterpret_cast<const char*>(o + words + l), _MM_HINT_T0);
}

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
      prefetch_next(o, kW);
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

// Primes in [2^50, 2^62) (the 60-bit first prime): each word split into 52-bit halves,
// x = x0 + x1 2^52 and w = w0 + w1 2^52 (x1, w1 < 2^10), and the product summed exactly in three
// columns of weight 1, 2^52 and 2^104 with seven IFMA products:
//   C0 += lo(x0 w0),  C1 += hi(x0 w0) + lo(x0 w1) + lo(x1 w0),  C2 += hi(x0 w1) + hi(x1 w0) + lo(x1 w1).
// (vpmadd52 reads only the low 52 bits of x, so x0 needs no mask.) The columns stay exact for
// `window` products (below); then C0 + C1 2^52 + C2 2^104 is the exact sum, below 2^128, and is
// reduced by the same Modulus::reduce128 as the 128-bit path, so the results are identical.
void mac_ifma3(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
               const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q) {
  // k products of words below 2^b plus a reduced value: k 2^(2b) + 2^b < 2^128 for k <= 2^(127-2b).
  // Capped at 256: C1 then takes at most 3 * 256 + 1 values below 2^52 (< 2^62).
  const unsigned b = static_cast<unsigned>(q.bit_count());
  const std::uint32_t window = 2 * b >= 127 - 8 ? std::uint32_t{1} << (127 - 2 * b) : 256;
  const __m512i zero = _mm512_setzero_si512();
  const __m512i mask52 = simd52::set1((std::uint64_t{1} << 52) - 1);
  constexpr std::size_t kV = 4, kW = 8 * kV;  // 12 column accumulators in registers
  alignas(64) std::uint64_t c0[kW], c1[kW], c2[kW];
  // Reduces the columns of vector v into o (and back into the columns when more terms follow).
  auto reduce = [&](__m512i* C0, __m512i* C1, __m512i* C2, std::uint64_t* o, bool more) {
    for (std::size_t v = 0; v < kV; ++v) {
      _mm512_store_si512(c0 + 8 * v, C0[v]);
      _mm512_store_si512(c1 + 8 * v, C1[v]);
      _mm512_store_si512(c2 + 8 * v, C2[v]);
    }
    for (std::size_t l = 0; l < kW; ++l)
      o[l] = q.reduce128(static_cast<unsigned __int128>(c0[l]) + (static_cast<unsigned __int128>(c1[l]) << 52) +
                         (static_cast<unsigned __int128>(c2[l]) << 104));
    if (more)
      for (std::size_t v = 0; v < kV; ++v) {
        const __m512i r = _mm512_loadu_si512(o + 8 * v);
        C0[v] = _mm512_and_si512(r, mask52);
        C1[v] = _mm512_srli_epi64(r, 52);
        C2[v] = zero;
      }
  };
  std::size_t i = lo;
  for (; i + kW <= hi; i += kW) {
    for (std::size_t a = 0; a < terms.outputs; ++a) {
      const std::uint32_t bg = terms.begin[a], e = terms.begin[a + 1];
      if (bg == e) continue;
      std::uint64_t* o = out[a] + i;
      prefetch_next(o, kW);
      __m512i C0[kV], C1[kV], C2[kV];
      for (std::size_t v = 0; v < kV; ++v) {
        const __m512i r = accumulate[a] ? _mm512_loadu_si512(o + 8 * v) : zero;
        C0[v] = _mm512_and_si512(r, mask52);
        C1[v] = _mm512_srli_epi64(r, 52);
        C2[v] = zero;
      }
      std::uint32_t m = bg;
      while (m < e) {
        const std::uint32_t stop = (e - m > window) ? m + window : e;
        for (; m < stop; ++m) {
          const std::uint64_t* x = in[terms.in_index[m]] + i;
          const std::uint64_t wv = terms.weight[m];
          const __m512i w0 = simd52::set1(wv), w1 = simd52::set1(wv >> 52);
          for (std::size_t v = 0; v < kV; ++v) {
            const __m512i x0 = _mm512_loadu_si512(x + 8 * v);
            const __m512i x1 = _mm512_srli_epi64(x0, 52);
            C0[v] = _mm512_madd52lo_epu64(C0[v], x0, w0);
            C1[v] = _mm512_madd52hi_epu64(C1[v], x0, w0);
            C1[v] = _mm512_madd52lo_epu64(C1[v], x0, w1);
            C1[v] = _mm512_madd52lo_epu64(C1[v], x1, w0);
            C2[v] = _mm512_madd52hi_epu64(C2[v], x0, w1);
            C2[v] = _mm512_madd52hi_epu64(C2[v], x1, w0);
            C2[v] = _mm512_madd52lo_epu64(C2[v], x1, w1);
          }
        }
        reduce(C0, C1, C2, o, m < e);
      }
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
  if (q.value() < (std::uint64_t{1} << 62)) {
    mac_ifma3(in, out, accumulate, terms, lo, hi, q);
    return;
  }
#endif
  mac_scalar(in, out, accumulate, terms, lo, hi, q);
}

namespace detail {
void mac_many_portable(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
                       const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q) {
  mac_scalar(in, out, accumulate, terms, lo, hi, q);
}
}  // namespace detail

}  // namespace cryptounet::math::kernels
