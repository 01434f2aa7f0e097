#include "cryptounet/math/poly_kernels.h"

#include <algorithm>

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

void mul_scalar(const std::uint64_t* a, const ShoupOperand& w, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  for (std::size_t i = 0; i < n; ++i) out[i] = mul_shoup(a[i], w, qv);
}

void mul_scalar_add(const std::uint64_t* a, const ShoupOperand& w, std::uint64_t* acc, std::size_t n, const Modulus& q) {
  const std::uint64_t qv = q.value();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t s = mul_shoup(a[i], w, qv) + acc[i];
    acc[i] = s >= qv ? s - qv : s;
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
