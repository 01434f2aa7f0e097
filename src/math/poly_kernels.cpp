#include "cryptounet/math/poly_kernels.h"

#include <algorithm>
#if defined(__AVX512F__) && defined(__AVX512DQ__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

#include "simd52.h"

namespace cryptounet::math::kernels {

void add(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t s = a[i] + b[i];
    out[i] = s >= qv ? s - qv : s;
  }
}

void sub(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t d = a[i] + qv - b[i];
    out[i] = d >= qv ? d - qv : d;
  }
}

void negate(const std::uint64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  for (std::size_t i = 0; i < n; ++i) out[i] = a[i] ? qv - a[i] : 0;
}

#ifdef CU_HAVE_IFMA
namespace {
bool use52(const Modulus& q, std::size_t n) { return q.value() < simd52::kLimit && n % 8 == 0; }
}  // namespace
#endif

void mul(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n, const Modulus& q) {
#ifdef CU_HAVE_IFMA
  if (use52(q, n)) {
    const simd52::Reducer red(q.value());
    const __m512i zero = _mm512_setzero_si512();
    for (std::size_t i = 0; i < n; i += 8) {
      const __m512i x = _mm512_loadu_si512(a + i), y = _mm512_loadu_si512(b + i);
      _mm512_storeu_si512(out + i, red.reduce(_mm512_madd52lo_epu64(zero, x, y), _mm512_madd52hi_epu64(zero, x, y)));
    }
    return;
  }
#endif
  for (std::size_t i = 0; i < n; ++i) out[i] = q.reduce128(static_cast<unsigned __int128>(a[i]) * b[i]);
}

void add_sub_mul_lazy(const std::uint64_t* b, const std::uint64_t* c, const std::uint64_t* x, const std::uint64_t* y,
                      std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value(), two_q = 2 * qv;
  std::size_t i = 0;
#ifdef CU_HAVE_IFMA
  if (q.value() < simd52::kLimit) {
    const simd52::Reducer red(qv);
    const __m512i zero = _mm512_setzero_si512(), vq = red.p, v2q = red.two_p;
    for (; i + 8 <= n; i += 8) {
      const __m512i xv = _mm512_loadu_si512(x + i), yv = _mm512_loadu_si512(y + i);
      const __m512i p = red.reduce(_mm512_madd52lo_epu64(zero, xv, yv), _mm512_madd52hi_epu64(zero, xv, yv));
      __m512i bv = _mm512_loadu_si512(b + i);
      bv = _mm512_min_epu64(bv, _mm512_sub_epi64(bv, v2q));  // [0, 2q)
      __m512i s = _mm512_add_epi64(bv, _mm512_loadu_si512(c + i));  // [0, 3q)
      s = _mm512_sub_epi64(_mm512_add_epi64(s, vq), p);              // (0, 4q)
      s = _mm512_min_epu64(s, _mm512_sub_epi64(s, v2q));
      _mm512_storeu_si512(out + i, _mm512_min_epu64(s, _mm512_sub_epi64(s, vq)));
    }
  }
#endif
  for (; i < n; ++i) {
    const std::uint64_t p = q.reduce128(static_cast<unsigned __int128>(x[i]) * y[i]);
    std::uint64_t bb = b[i];
    bb -= (bb >= two_q) ? two_q : 0;
    bb -= (bb >= qv) ? qv : 0;
    std::uint64_t s = bb + c[i];
    s -= (s >= qv) ? qv : 0;
    out[i] = s >= p ? s - p : s + qv - p;
  }
}

void mul_add(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* acc, std::size_t n, const Modulus& q) {
#ifdef CU_HAVE_IFMA
  if (use52(q, n)) {
    const simd52::Reducer red(q.value());
    const __m512i zero = _mm512_setzero_si512();
    for (std::size_t i = 0; i < n; i += 8) {
      const __m512i x = _mm512_loadu_si512(a + i), y = _mm512_loadu_si512(b + i);
      const __m512i c = _mm512_loadu_si512(acc + i);
      _mm512_storeu_si512(acc + i, red.reduce(_mm512_madd52lo_epu64(c, x, y), _mm512_madd52hi_epu64(zero, x, y)));
    }
    return;
  }
#endif
  for (std::size_t i = 0; i < n; ++i)
    acc[i] = q.reduce128(static_cast<unsigned __int128>(a[i]) * b[i] + acc[i]);
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
namespace {
// Shoup products by a fixed w < q, eight lanes, result in [0, 2q) (lazy) for x below the stated
// bound. IFMA (q < 2^50, x < 2^52): the 52-bit quotient floor(w 2^52 / q) makes it exact from the
// low 52 bits. 64-bit (any q < 2^62, any x): the high half of x * floor(w 2^64 / q) estimated from
// three 32-bit products (short by at most 2, so x w - qhat q < 4q), then one subtraction of 2q.
struct ShoupVec {
  __m512i q, two_q, w, wq;
  bool ifma;
  ShoupVec(const ShoupOperand& op, const Modulus& m) {
    const std::uint64_t qv = m.value();
    q = _mm512_set1_epi64(static_cast<long long>(qv));
    two_q = _mm512_set1_epi64(static_cast<long long>(2 * qv));
    w = _mm512_set1_epi64(static_cast<long long>(op.value));
#ifdef CU_HAVE_IFMA
    ifma = qv < simd52::kLimit;
    if (ifma) {
      wq = _mm512_set1_epi64(static_cast<long long>((static_cast<unsigned __int128>(op.value) << 52) / qv));
      return;
    }
#else
    ifma = false;
#endif
    wq = _mm512_set1_epi64(static_cast<long long>(op.quotient));
  }
  [[nodiscard]] __m512i lazy52(__m512i x) const {
#ifdef CU_HAVE_IFMA
    const __m512i zero = _mm512_setzero_si512();
    const __m512i qhat = _mm512_madd52hi_epu64(zero, x, wq);
    const __m512i r = _mm512_sub_epi64(_mm512_madd52lo_epu64(zero, x, w), _mm512_madd52lo_epu64(zero, qhat, q));
    return _mm512_and_si512(r, _mm512_set1_epi64((1LL << 52) - 1));
#else
    return x;
#endif
  }
  [[nodiscard]] __m512i lazy64(__m512i x) const {
    const __m512i xh = _mm512_srli_epi64(x, 32), wh = _mm512_srli_epi64(wq, 32);
    const __m512i lh = _mm512_mul_epu32(x, wh), hl = _mm512_mul_epu32(xh, wq), hh = _mm512_mul_epu32(xh, wh);
    const __m512i qhat = _mm512_add_epi64(hh, _mm512_add_epi64(_mm512_srli_epi64(lh, 32), _mm512_srli_epi64(hl, 32)));
    const __m512i r = _mm512_sub_epi64(_mm512_mullo_epi64(x, w), _mm512_mullo_epi64(qhat, q));
    return _mm512_min_epu64(r, _mm512_sub_epi64(r, two_q));
  }
  [[nodiscard]] __m512i reduce_q(__m512i x) const { return _mm512_min_epu64(x, _mm512_sub_epi64(x, q)); }
  [[nodiscard]] __m512i reduce_2q(__m512i x) const { return _mm512_min_epu64(x, _mm512_sub_epi64(x, two_q)); }
};

// Runs body(i, lazy) over blocks of eight with the multiplier chosen once; the scalar tail is the caller's.
template <class Body>
std::size_t vec_loop(const ShoupVec& v, std::size_t n, Body&& body) {
  const std::size_t whole = n & ~std::size_t{7};
  if (v.ifma) {
    for (std::size_t i = 0; i < whole; i += 8) body(i, [&](__m512i x) { return v.lazy52(x); });
  } else {
    for (std::size_t i = 0; i < whole; i += 8) body(i, [&](__m512i x) { return v.lazy64(x); });
  }
  return whole;
}
}  // namespace
#define CU_KERNELS_AVX512 1
#endif

void mul_scalar(const std::uint64_t* a, const ShoupOperand& w, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  std::size_t i = 0;
#ifdef CU_KERNELS_AVX512
  const ShoupVec v(w, q);
  i = vec_loop(v, n, [&](std::size_t k, auto&& lazy) {
    _mm512_storeu_si512(out + k, v.reduce_q(lazy(_mm512_loadu_si512(a + k))));
  });
#endif
  for (; i < n; ++i) out[i] = mul_shoup(a[i], w, qv);
}

void mul_scalar_add(const std::uint64_t* a, const ShoupOperand& w, std::uint64_t* acc, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  std::size_t i = 0;
#ifdef CU_KERNELS_AVX512
  const ShoupVec v(w, q);
  i = vec_loop(v, n, [&](std::size_t k, auto&& lazy) {
    const __m512i s = _mm512_add_epi64(v.reduce_q(lazy(_mm512_loadu_si512(a + k))), _mm512_loadu_si512(acc + k));
    _mm512_storeu_si512(acc + k, v.reduce_q(s));
  });
#endif
  for (; i < n; ++i) {
    const std::uint64_t s = mul_shoup(a[i], w, qv) + acc[i];
    acc[i] = s >= qv ? s - qv : s;
  }
}

void sub_lazy_add_mul_scalar(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t c, const ShoupOperand& w,
                             std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value(), two_q = 2 * qv;
  std::size_t i = 0;
#ifdef CU_KERNELS_AVX512
  const ShoupVec v(w, q);
  const __m512i c2q = _mm512_set1_epi64(static_cast<long long>(c + two_q));
  i = vec_loop(v, n, [&](std::size_t k, auto&& lazy) {
    // a + c + 2q - (b mod 2q) lies in (0, 4q): below 2^52 for the IFMA product.
    const __m512i bb = v.reduce_2q(_mm512_loadu_si512(b + k));
    const __m512i x = _mm512_sub_epi64(_mm512_add_epi64(_mm512_loadu_si512(a + k), c2q), bb);
    _mm512_storeu_si512(out + k, v.reduce_q(lazy(x)));
  });
#endif
  for (; i < n; ++i) {
    std::uint64_t bb = b[i];
    bb -= (bb >= two_q) ? two_q : 0;
    out[i] = mul_shoup(a[i] + c + two_q - bb, w, qv);
  }
}

void add_scalar(const std::uint64_t* a, std::uint64_t c, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t s = a[i] + c;
    out[i] = s >= qv ? s - qv : s;
  }
}

void permute(const std::uint64_t* a, const std::uint32_t* perm, std::uint64_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = a[perm[i]];
}

void reduce_signed52(const std::int64_t* x, std::uint64_t* out, std::size_t n, const Modulus& q) {
  // |x| < 2^52 is exact in a double; the truncated quotient is off by at most one, so
  // r = x - qh q lies in (-2q, 2q) and two conditional additions and one subtraction finish it.
  const std::int64_t qv = static_cast<std::int64_t>(q.value());
  const double inv = 1.0 / static_cast<double>(qv);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t v = x[i];
    const std::int64_t qh = static_cast<std::int64_t>(static_cast<double>(v) * inv);
    std::int64_t r = v - qh * qv;
    r += qv & (r >> 63);
    r += qv & (r >> 63);
    r -= (r >= qv) ? qv : 0;
    out[i] = static_cast<std::uint64_t>(r);
  }
}

void reduce(const std::uint64_t* x, std::uint64_t* out, std::size_t n, const Modulus& q) {
  for (std::size_t i = 0; i < n; ++i) out[i] = q.reduce(x[i]);
}

void dot2(const std::uint64_t* const* a, const std::uint64_t* const* b0, const std::uint64_t* const* b1,
          std::size_t count, const std::uint32_t* perm, std::uint64_t* out0, std::uint64_t* out1, std::size_t n,
          const Modulus& q) {
#ifdef CU_HAVE_IFMA
  if (use52(q, n) && count <= 15) {
    const simd52::Reducer red(q.value());
    const __m512i zero = _mm512_setzero_si512();
    for (std::size_t i = 0; i < n; i += 8) {
      __m512i lo0 = zero, hi0 = zero, lo1 = zero, hi1 = zero;
      const __m256i idx = perm ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(perm + i)) : _mm256_setzero_si256();
      for (std::size_t j = 0; j < count; ++j) {
        const __m512i x = perm ? _mm512_i32gather_epi64(idx, reinterpret_cast<const long long*>(a[j]), 8)
                               : _mm512_loadu_si512(a[j] + i);
        const __m512i y0 = _mm512_loadu_si512(b0[j] + i), y1 = _mm512_loadu_si512(b1[j] + i);
        lo0 = _mm512_madd52lo_epu64(lo0, x, y0);
        hi0 = _mm512_madd52hi_epu64(hi0, x, y0);
        lo1 = _mm512_madd52lo_epu64(lo1, x, y1);
        hi1 = _mm512_madd52hi_epu64(hi1, x, y1);
      }
      _mm512_storeu_si512(out0 + i, red.reduce(lo0, hi0));
      _mm512_storeu_si512(out1 + i, red.reduce(lo1, hi1));
    }
    return;
  }
#endif
  constexpr std::size_t kBlock = 8;  // 8 products < 2^122 each fit in 128 bits
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t src = perm ? perm[i] : i;
    unsigned __int128 s0 = 0, s1 = 0;
    std::size_t j = 0;
    while (j < count) {
      const std::size_t stop = std::min(count, j + kBlock);
      for (; j < stop; ++j) {
        const std::uint64_t x = a[j][src];
        s0 += static_cast<unsigned __int128>(x) * b0[j][i];
        s1 += static_cast<unsigned __int128>(x) * b1[j][i];
      }
      if (j < count) {
        s0 = q.reduce128(s0);
        s1 = q.reduce128(s1);
      }
    }
    out0[i] = q.reduce128(s0);
    out1[i] = q.reduce128(s1);
  }
}

}  // namespace cryptounet::math::kernels
