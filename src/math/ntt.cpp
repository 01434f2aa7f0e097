#include "cryptounet/math/ntt.h"

#include <atomic>
#include <bit>
#if defined(__AVX512F__) && defined(__AVX512IFMA__)
// GCC 12 warns inside its own intrinsic headers (_mm512_undefined_epi32); a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

std::atomic<std::uint64_t> g_ntt_count{0};

std::size_t bit_reverse(std::size_t x, int bits) {
  std::size_t r = 0;
  for (int i = 0; i < bits; ++i) {
    r = (r << 1) | (x & 1);
    x >>= 1;
  }
  return r;
}

}  // namespace

NttTables::NttTables(std::size_t n, const Modulus& q) : n_(n), q_(q) {
  if (n < 2 || n > (std::size_t{1} << 17) || (n & (n - 1)))
    throw InvalidArgument("NttTables: n=" + std::to_string(n) + " is not a power of two in [2, 2^17]");
  log_n_ = std::countr_zero(n);
  psi_ = minimal_primitive_root(2 * n, q.value());
  const std::uint64_t psi_inv = inv_mod(psi_, q_);
  roots_.resize(n);
  inv_roots_.resize(n);
  std::uint64_t p = 1, pi = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = bit_reverse(i, log_n_);
    roots_[r] = make_shoup(p, q_);
    inv_roots_[r] = make_shoup(pi, q_);
    p = mul_mod(p, psi_, q_);
    pi = mul_mod(pi, psi_inv, q_);
  }
  const std::uint64_t ninv = inv_mod(n, q_);
  inv_n_ = make_shoup(ninv, q_);
  inv_n_root_ = make_shoup(mul_mod(ninv, inv_roots_[1].value, q_), q_);
  if (q_.value() < (std::uint64_t{1} << 50)) {
    auto q52 = [&](std::uint64_t w) {
      return static_cast<std::uint64_t>((static_cast<unsigned __int128>(w) << 52) / q_.value());
    };
    roots_q52_.resize(n);
    inv_roots_q52_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      roots_q52_[i] = q52(roots_[i].value);
      inv_roots_q52_[i] = q52(inv_roots_[i].value);
    }
    inv_n_q52_ = q52(inv_n_.value);
    inv_n_root_q52_ = q52(inv_n_root_.value);
  }
}

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
bool ntt_has_ifma() { return true; }
namespace {

// AVX-512 IFMA butterflies for q < 2^50 (HEXL's approach): values stay below 4q < 2^52, so the
// 52-bit multiplier computes the Shoup product W*Y - floor(W' Y / 2^52) q in [0, 2q) exactly
// from the low 52 bits.
inline __m512i mul_shoup_lazy52(__m512i y, __m512i w, __m512i wq, __m512i q, __m512i mask52) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i qhat = _mm512_madd52hi_epu64(zero, y, wq);
  const __m512i wy = _mm512_madd52lo_epu64(zero, y, w);
  const __m512i qq = _mm512_madd52lo_epu64(zero, qhat, q);
  return _mm512_and_si512(_mm512_sub_epi64(wy, qq), mask52);
}

// Forward layers with t >= 8 in vectors, the last three (t = 4, 2, 1) in scalar code.
void forward_ifma(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t qv = tables.modulus().value();
  const __m512i q = _mm512_set1_epi64(static_cast<long long>(qv));
  const __m512i two_q = _mm512_set1_epi64(static_cast<long long>(2 * qv));
  const __m512i mask52 = _mm512_set1_epi64((1LL << 52) - 1);
  const ShoupOperand* roots = tables.root_powers();
  const std::uint64_t* rq = tables.root_q52().data();
  std::size_t t = n >> 1, m = 1;
  for (; t >= 8; m <<= 1, t >>= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const __m512i w = _mm512_set1_epi64(static_cast<long long>(roots[m + i].value));
      const __m512i wq = _mm512_set1_epi64(static_cast<long long>(rq[m + i]));
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; j += 8) {
        __m512i vx = _mm512_loadu_si512(x + j);
        const __m512i vy = _mm512_loadu_si512(y + j);
        vx = _mm512_min_epu64(vx, _mm512_sub_epi64(vx, two_q));
        const __m512i ty = mul_shoup_lazy52(vy, w, wq, q, mask52);
        _mm512_storeu_si512(x + j, _mm512_add_epi64(vx, ty));
        _mm512_storeu_si512(y + j, _mm512_add_epi64(_mm512_sub_epi64(vx, ty), two_q));
      }
    }
  }
  const std::uint64_t two_qs = 2 * qv;
  for (; m < n; m <<= 1, t >>= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const ShoupOperand w = roots[m + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; ++j) {
        std::uint64_t tx = x[j];
        tx -= (tx >= two_qs) ? two_qs : 0;
        const std::uint64_t ty = mul_shoup_lazy(y[j], w, qv);
        x[j] = tx + ty;
        y[j] = tx - ty + two_qs;
      }
    }
  }
}

// Inverse: the first three layers (t = 1, 2, 4) scalar, then vectors; the last layer folds in 1/n.
void inverse_ifma(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t qv = tables.modulus().value();
  const std::uint64_t two_qs = 2 * qv;
  const ShoupOperand* roots = tables.inv_root_powers();
  const std::uint64_t* rq = tables.inv_root_q52().data();
  std::size_t t = 1, m = n >> 1;
  for (; m > 1 && t < 8; m >>= 1, t <<= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const ShoupOperand w = roots[m + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; ++j) {
        const std::uint64_t u = x[j], v = y[j];
        std::uint64_t s = u + v;
        s -= (s >= two_qs) ? two_qs : 0;
        x[j] = s;
        y[j] = mul_shoup_lazy(u + two_qs - v, w, qv);
      }
    }
  }
  const __m512i q = _mm512_set1_epi64(static_cast<long long>(qv));
  const __m512i two_q = _mm512_set1_epi64(static_cast<long long>(two_qs));
  const __m512i mask52 = _mm512_set1_epi64((1LL << 52) - 1);
  for (; m > 1; m >>= 1, t <<= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const __m512i w = _mm512_set1_epi64(static_cast<long long>(roots[m + i].value));
      const __m512i wq = _mm512_set1_epi64(static_cast<long long>(rq[m + i]));
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; j += 8) {
        const __m512i u = _mm512_loadu_si512(x + j);
        const __m512i v = _mm512_loadu_si512(y + j);
        __m512i s = _mm512_add_epi64(u, v);
        s = _mm512_min_epu64(s, _mm512_sub_epi64(s, two_q));
        const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(u, two_q), v);
        _mm512_storeu_si512(x + j, s);
        _mm512_storeu_si512(y + j, mul_shoup_lazy52(d, w, wq, q, mask52));
      }
    }
  }
  const std::size_t h = n >> 1;
  const __m512i ninv = _mm512_set1_epi64(static_cast<long long>(tables.inv_n().value));
  const __m512i ninv_q = _mm512_set1_epi64(static_cast<long long>(tables.inv_n_q52()));
  const __m512i nw = _mm512_set1_epi64(static_cast<long long>(tables.inv_n_root().value));
  const __m512i nw_q = _mm512_set1_epi64(static_cast<long long>(tables.inv_n_root_q52()));
  for (std::size_t j = 0; j < h; j += 8) {
    const __m512i u = _mm512_loadu_si512(a + j);
    const __m512i v = _mm512_loadu_si512(a + j + h);
    const __m512i s = _mm512_add_epi64(u, v);
    const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(u, two_q), v);
    _mm512_storeu_si512(a + j, mul_shoup_lazy52(s, ninv, ninv_q, q, mask52));
    _mm512_storeu_si512(a + j + h, mul_shoup_lazy52(d, nw, nw_q, q, mask52));
  }
}

bool use_ifma(const NttTables& t) { return t.n() >= 16 && !t.root_q52().empty(); }

}  // namespace
#else
bool ntt_has_ifma() { return false; }
#endif

// Cooley-Tukey layers, m groups of 2t; Harvey's lazy butterfly keeps values in [0, 4q):
//   X' = (X mod 2q) + W*Y (lazy, < 2q), Y' = (X mod 2q) - W*Y + 2q.
std::uint64_t ntt_count() { return g_ntt_count.load(std::memory_order_relaxed); }

void ntt_forward_lazy(std::uint64_t* a, const NttTables& tables) {
  g_ntt_count.fetch_add(1, std::memory_order_relaxed);
#if defined(__AVX512F__) && defined(__AVX512IFMA__)
  if (use_ifma(tables)) {
    forward_ifma(a, tables);
    return;
  }
#endif
  const std::size_t n = tables.n();
  const std::uint64_t q = tables.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const ShoupOperand* roots = tables.root_powers();
  std::size_t t = n >> 1;
  for (std::size_t m = 1; m < n; m <<= 1, t >>= 1) {
    {
      for (std::size_t i = 0; i < m; ++i) {
        const ShoupOperand w = roots[m + i];
        std::uint64_t* x = a + 2 * i * t;
        std::uint64_t* y = x + t;
        for (std::size_t j = 0; j < t; ++j) {
          std::uint64_t tx = x[j];
          tx -= (tx >= two_q) ? two_q : 0;
          const std::uint64_t ty = mul_shoup_lazy(y[j], w, q);
          x[j] = tx + ty;
          y[j] = tx - ty + two_q;
        }
      }
    }
  }
}

void ntt_forward(std::uint64_t* a, const NttTables& tables) {
  ntt_forward_lazy(a, tables);
  const std::uint64_t q = tables.modulus().value();
  const std::uint64_t two_q = 2 * q;
  for (std::size_t i = 0; i < tables.n(); ++i) {
    std::uint64_t x = a[i];
    x -= (x >= two_q) ? two_q : 0;
    x -= (x >= q) ? q : 0;
    a[i] = x;
  }
}

// Gentleman-Sande layers with inverse twiddles; values stay in [0, 2q). The last layer folds in 1/n.
void ntt_inverse_lazy(std::uint64_t* a, const NttTables& tables) {
  g_ntt_count.fetch_add(1, std::memory_order_relaxed);
#if defined(__AVX512F__) && defined(__AVX512IFMA__)
  if (use_ifma(tables)) {
    inverse_ifma(a, tables);
    return;
  }
#endif
  const std::size_t n = tables.n();
  const std::uint64_t q = tables.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const ShoupOperand* roots = tables.inv_root_powers();
  std::size_t t = 1;
  for (std::size_t m = n >> 1; m > 1; m >>= 1, t <<= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const ShoupOperand w = roots[m + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; ++j) {
        const std::uint64_t u = x[j];
        const std::uint64_t v = y[j];
        std::uint64_t s = u + v;
        s -= (s >= two_q) ? two_q : 0;
        x[j] = s;
        y[j] = mul_shoup_lazy(u + two_q - v, w, q);
      }
    }
  }
  // Last layer (m = 1, t = n/2): X' = (u + v)/n, Y' = (u - v) * psi^-br(1) / n.
  const ShoupOperand ninv = tables.inv_n();
  const ShoupOperand nw = tables.inv_n_root();
  const std::size_t h = n >> 1;
  for (std::size_t j = 0; j < h; ++j) {
    const std::uint64_t u = a[j];
    const std::uint64_t v = a[j + h];
    a[j] = mul_shoup_lazy(u + v, ninv, q);
    a[j + h] = mul_shoup_lazy(u + two_q - v, nw, q);
  }
}

void ntt_inverse(std::uint64_t* a, const NttTables& tables) {
  ntt_inverse_lazy(a, tables);
  const std::uint64_t q = tables.modulus().value();
  for (std::size_t i = 0; i < tables.n(); ++i) a[i] -= (a[i] >= q) ? q : 0;
}

}  // namespace cryptounet::math
