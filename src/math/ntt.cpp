#include "cryptounet/math/ntt.h"

#include <atomic>
#include <bit>
#if defined(__AVX512F__) && defined(__AVX512DQ__)
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
#else
bool ntt_has_ifma() { return false; }
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define CU_NTT_AVX512 1
namespace {

// Vectorised Harvey butterflies, eight at a time. Two multipliers:
//  * Mul52 (AVX-512 IFMA, q < 2^50, HEXL's approach): values stay below 4q < 2^52, so the
//    52-bit multiplier computes the Shoup product W*Y - floor(W' Y / 2^52) q in [0, 2q) exactly
//    from the low 52 bits;
//  * Mul64 (any q < 2^62): the same Shoup product with the 64-bit quotient, the high half of
//    Y*W' assembled from four 32-bit products (AVX-512 has no 64x64 -> 128 multiply).
struct Mul52 {
  __m512i q, mask52;
  explicit Mul52(std::uint64_t qv) : q(_mm512_set1_epi64(static_cast<long long>(qv))),
                                     mask52(_mm512_set1_epi64((1LL << 52) - 1)) {}
  static std::uint64_t quotient(const NttTables& t, const ShoupOperand* roots, std::size_t i, bool inverse) {
    (void)roots;
    return inverse ? t.inv_root_q52()[i] : t.root_q52()[i];
  }
  static std::uint64_t inv_n_quotient(const NttTables& t) { return t.inv_n_q52(); }
  static std::uint64_t inv_n_root_quotient(const NttTables& t) { return t.inv_n_root_q52(); }
#if defined(__AVX512IFMA__)
  [[nodiscard]] __m512i lazy(__m512i y, __m512i w, __m512i wq) const {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i qhat = _mm512_madd52hi_epu64(zero, y, wq);
    const __m512i wy = _mm512_madd52lo_epu64(zero, y, w);
    const __m512i qq = _mm512_madd52lo_epu64(zero, qhat, q);
    return _mm512_and_si512(_mm512_sub_epi64(wy, qq), mask52);
  }
#else
  [[nodiscard]] __m512i lazy(__m512i y, __m512i, __m512i) const { return y; }  // never used
#endif
};

struct Mul64 {
  __m512i q, lo32;
  explicit Mul64(std::uint64_t qv) : q(_mm512_set1_epi64(static_cast<long long>(qv))),
                                     lo32(_mm512_set1_epi64(0xffffffffLL)) {}
  static std::uint64_t quotient(const NttTables&, const ShoupOperand* roots, std::size_t i, bool) {
    return roots[i].quotient;
  }
  static std::uint64_t inv_n_quotient(const NttTables& t) { return t.inv_n().quotient; }
  static std::uint64_t inv_n_root_quotient(const NttTables& t) { return t.inv_n_root().quotient; }
  [[nodiscard]] __m512i mulhi(__m512i a, __m512i b) const {
    const __m512i ah = _mm512_srli_epi64(a, 32), bh = _mm512_srli_epi64(b, 32);
    const __m512i ll = _mm512_mul_epu32(a, b), lh = _mm512_mul_epu32(a, bh);
    const __m512i hl = _mm512_mul_epu32(ah, b), hh = _mm512_mul_epu32(ah, bh);
    const __m512i mid = _mm512_add_epi64(_mm512_add_epi64(_mm512_srli_epi64(ll, 32), _mm512_and_si512(lh, lo32)),
                                         _mm512_and_si512(hl, lo32));
    return _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(lh, 32)),
                            _mm512_add_epi64(_mm512_srli_epi64(hl, 32), _mm512_srli_epi64(mid, 32)));
  }
  [[nodiscard]] __m512i lazy(__m512i y, __m512i w, __m512i wq) const {
    const __m512i qhat = mulhi(y, wq);
    return _mm512_sub_epi64(_mm512_mullo_epi64(y, w), _mm512_mullo_epi64(qhat, q));
  }
};

inline __m512i bcast(std::uint64_t v) { return _mm512_set1_epi64(static_cast<long long>(v)); }

// The last three forward layers (first three inverse ones) have groups of 2t = 8, 4, 2 elements,
// shorter than a vector. Two vectors (16 elements) are split into the X halves and the Y halves
// of their groups with cross-lane permutations, processed as one vector butterfly, and merged
// back. Lane L of X is element 2t (L / t) + L % t, of Y the same plus t.
struct SmallLayer {
  __m512i idx_x, idx_y, back0, back1;
  explicit SmallLayer(std::size_t t) {
    alignas(64) long long ix[8], iy[8], b0[8], b1[8];
    for (std::size_t l = 0; l < 8; ++l) {
      ix[l] = static_cast<long long>(2 * t * (l / t) + l % t);
      iy[l] = ix[l] + static_cast<long long>(t);
    }
    for (std::size_t e = 0; e < 16; ++e) {
      const std::size_t g = e / (2 * t), p = e % (2 * t);
      const long long lane = static_cast<long long>(t * g + (p < t ? p : p - t)) + (p < t ? 0 : 8);
      (e < 8 ? b0[e] : b1[e - 8]) = lane;
    }
    idx_x = _mm512_load_si512(ix);
    idx_y = _mm512_load_si512(iy);
    back0 = _mm512_load_si512(b0);
    back1 = _mm512_load_si512(b1);
  }
};

// Twiddles for the 8 lanes: lane L uses roots[first + L / t].
template <class M>
inline void small_twiddles(const NttTables& tables, const ShoupOperand* roots, std::size_t first, std::size_t t,
                           bool inverse, __m512i& w, __m512i& wq) {
  alignas(64) std::uint64_t wv[8], qv[8];
  for (std::size_t l = 0; l < 8; ++l) {
    wv[l] = roots[first + l / t].value;
    qv[l] = M::quotient(tables, roots, first + l / t, inverse);
  }
  w = _mm512_load_si512(wv);
  wq = _mm512_load_si512(qv);
}

// Forward layers with t >= 8 in vectors, the last three (t = 4, 2, 1) in scalar code.
template <class M>
void forward_vec(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t qv = tables.modulus().value();
  const M mul(qv);
  const __m512i two_q = bcast(2 * qv);
  const ShoupOperand* roots = tables.root_powers();
  std::size_t t = n >> 1, m = 1;
  for (; t >= 8; m <<= 1, t >>= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const __m512i w = bcast(roots[m + i].value);
      const __m512i wq = bcast(M::quotient(tables, roots, m + i, false));
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; j += 8) {
        __m512i vx = _mm512_loadu_si512(x + j);
        const __m512i vy = _mm512_loadu_si512(y + j);
        vx = _mm512_min_epu64(vx, _mm512_sub_epi64(vx, two_q));
        const __m512i ty = mul.lazy(vy, w, wq);
        _mm512_storeu_si512(x + j, _mm512_add_epi64(vx, ty));
        _mm512_storeu_si512(y + j, _mm512_add_epi64(_mm512_sub_epi64(vx, ty), two_q));
      }
    }
  }
  for (; m < n; m <<= 1, t >>= 1) {
    const SmallLayer layer(t);
    const std::size_t groups = 8 / t;  // groups per 16 elements
    for (std::size_t k = 0; k < n / 16; ++k) {
      __m512i w, wq;
      small_twiddles<M>(tables, roots, m + k * groups, t, false, w, wq);
      const __m512i v0 = _mm512_loadu_si512(a + 16 * k), v1 = _mm512_loadu_si512(a + 16 * k + 8);
      __m512i vx = _mm512_permutex2var_epi64(v0, layer.idx_x, v1);
      const __m512i vy = _mm512_permutex2var_epi64(v0, layer.idx_y, v1);
      vx = _mm512_min_epu64(vx, _mm512_sub_epi64(vx, two_q));
      const __m512i ty = mul.lazy(vy, w, wq);
      const __m512i nx = _mm512_add_epi64(vx, ty);
      const __m512i ny = _mm512_add_epi64(_mm512_sub_epi64(vx, ty), two_q);
      _mm512_storeu_si512(a + 16 * k, _mm512_permutex2var_epi64(nx, layer.back0, ny));
      _mm512_storeu_si512(a + 16 * k + 8, _mm512_permutex2var_epi64(nx, layer.back1, ny));
    }
  }
}

// Inverse: the first three layers (t = 1, 2, 4) scalar, then vectors; the last layer folds in 1/n.
template <class M>
void inverse_vec(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t qv = tables.modulus().value();
  const std::uint64_t two_qs = 2 * qv;
  const ShoupOperand* roots = tables.inv_root_powers();
  const M mul(qv);
  const __m512i two_q = bcast(two_qs);
  std::size_t t = 1, m = n >> 1;
  for (; m > 1 && t < 8; m >>= 1, t <<= 1) {
    const SmallLayer layer(t);
    const std::size_t groups = 8 / t;
    for (std::size_t k = 0; k < n / 16; ++k) {
      __m512i w, wq;
      small_twiddles<M>(tables, roots, m + k * groups, t, true, w, wq);
      const __m512i v0 = _mm512_loadu_si512(a + 16 * k), v1 = _mm512_loadu_si512(a + 16 * k + 8);
      const __m512i u = _mm512_permutex2var_epi64(v0, layer.idx_x, v1);
      const __m512i v = _mm512_permutex2var_epi64(v0, layer.idx_y, v1);
      __m512i sum = _mm512_add_epi64(u, v);
      sum = _mm512_min_epu64(sum, _mm512_sub_epi64(sum, two_q));
      const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(u, two_q), v);
      const __m512i ny = mul.lazy(d, w, wq);
      _mm512_storeu_si512(a + 16 * k, _mm512_permutex2var_epi64(sum, layer.back0, ny));
      _mm512_storeu_si512(a + 16 * k + 8, _mm512_permutex2var_epi64(sum, layer.back1, ny));
    }
  }
  for (; m > 1; m >>= 1, t <<= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const __m512i w = bcast(roots[m + i].value);
      const __m512i wq = bcast(M::quotient(tables, roots, m + i, true));
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; j += 8) {
        const __m512i u = _mm512_loadu_si512(x + j);
        const __m512i v = _mm512_loadu_si512(y + j);
        __m512i s = _mm512_add_epi64(u, v);
        s = _mm512_min_epu64(s, _mm512_sub_epi64(s, two_q));
        const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(u, two_q), v);
        _mm512_storeu_si512(x + j, s);
        _mm512_storeu_si512(y + j, mul.lazy(d, w, wq));
      }
    }
  }
  const std::size_t h = n >> 1;
  const __m512i ninv = bcast(tables.inv_n().value), ninv_q = bcast(M::inv_n_quotient(tables));
  const __m512i nw = bcast(tables.inv_n_root().value), nw_q = bcast(M::inv_n_root_quotient(tables));
  for (std::size_t j = 0; j < h; j += 8) {
    const __m512i u = _mm512_loadu_si512(a + j);
    const __m512i v = _mm512_loadu_si512(a + j + h);
    const __m512i s = _mm512_add_epi64(u, v);
    const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(u, two_q), v);
    _mm512_storeu_si512(a + j, mul.lazy(s, ninv, ninv_q));
    _mm512_storeu_si512(a + j + h, mul.lazy(d, nw, nw_q));
  }
}

// 0: scalar, 1: 64-bit vectors, 2: IFMA vectors.
int vector_kind(const NttTables& t) {
  if (t.n() < 16) return 0;
#if defined(__AVX512IFMA__)
  if (!t.root_q52().empty()) return 2;
#endif
  return 1;
}

}  // namespace
#endif

// Cooley-Tukey layers, m groups of 2t; Harvey's lazy butterfly keeps values in [0, 4q):
//   X' = (X mod 2q) + W*Y (lazy, < 2q), Y' = (X mod 2q) - W*Y + 2q.
std::uint64_t ntt_count() { return g_ntt_count.load(std::memory_order_relaxed); }

void ntt_forward_lazy(std::uint64_t* a, const NttTables& tables) {
  g_ntt_count.fetch_add(1, std::memory_order_relaxed);
#ifdef CU_NTT_AVX512
  switch (vector_kind(tables)) {
    case 2: forward_vec<Mul52>(a, tables); return;
    case 1: forward_vec<Mul64>(a, tables); return;
    default: break;
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
#ifdef CU_NTT_AVX512
  switch (vector_kind(tables)) {
    case 2: inverse_vec<Mul52>(a, tables); return;
    case 1: inverse_vec<Mul64>(a, tables); return;
    default: break;
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
