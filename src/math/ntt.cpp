#include "cryptounet/math/ntt.h"

#include <atomic>
#include <bit>
#if defined(__AVX2__)
// GCC 12 warns inside its own intrinsic headers (_mm512_undefined_epi32); a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#endif
#include <string>

#include "cryptounet/common/bit_reverse.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

std::atomic<std::uint64_t> g_ntt_count{0};

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
  root_w_.resize(n);
  root_wq_.resize(n);
  inv_root_w_.resize(n);
  inv_root_wq_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    root_w_[i] = roots_[i].value;
    root_wq_[i] = roots_[i].quotient;
    inv_root_w_[i] = inv_roots_[i].value;
    inv_root_wq_[i] = inv_roots_[i].quotient;
  }
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


// Layout of both transforms (vector and scalar): layers are taken two at a time (radix-4: four
// elements, two layers, one load and one store each), so a 2^15 transform makes 8 passes over the
// limb instead of 15. The vector kernels finish (forward) or start (inverse) with the five layers
// t = 16..1 done in registers on blocks of 32 elements, and the full-range transforms fold their
// final reduction to [0, q) into the last pass. The AVX2 kernel (builds without AVX-512) does the
// same with 4-lane vectors: radix-4 passes down to t = 8, then t = 2, 1 on transposed 16-element
// blocks. Builds without either, primes >= 2^60 and n < 32 run the scalar radix-4 passes.
//
// Butterflies (Harvey): forward X, Y in [0, 4q) -> X' = (X mod 2q) + WY, Y' = (X mod 2q) - WY + 2q,
// with WY = Shoup lazy product in [0, 2q); inverse X, Y in [0, 2q) -> X' = (X + Y) mod 2q,
// Y' = W (X - Y + 2q) lazily in [0, 2q); the last inverse layer multiplies both outputs by 1/n.
// (The scalar path; the vector paths use the same butterflies with 2q replaced by the bound B of
// their multiplier, see Ctx below.)

namespace {

inline std::uint64_t lazy_s(std::uint64_t y, std::uint64_t w, std::uint64_t wq, std::uint64_t q) {
  return y * w - mul_hi(y, wq) * q;
}
inline void ct_s(std::uint64_t& x, std::uint64_t& y, std::uint64_t w, std::uint64_t wq, std::uint64_t q,
                 std::uint64_t two_q) {
  std::uint64_t tx = x;
  tx -= (tx >= two_q) ? two_q : 0;
  const std::uint64_t ty = lazy_s(y, w, wq, q);
  x = tx + ty;
  y = tx - ty + two_q;
}
inline void gs_s(std::uint64_t& x, std::uint64_t& y, std::uint64_t w, std::uint64_t wq, std::uint64_t q,
                 std::uint64_t two_q) {
  std::uint64_t s = x + y;
  s -= (s >= two_q) ? two_q : 0;
  y = lazy_s(x + two_q - y, w, wq, q);
  x = s;
}
inline std::uint64_t full_s(std::uint64_t x, std::uint64_t q) {  // [0, 4q) -> [0, q)
  x -= (x >= 2 * q) ? 2 * q : 0;
  return x - ((x >= q) ? q : 0);
}

// One forward radix-4 pass: layers t and t/2 (t >= 2, m = n / (2t) groups before it); inputs in
// [0, 4q), outputs in [0, 4q), or [0, q) when kFull and this is the last pass (t = 2).
template <bool kFull>
void forward_pass4_s(std::uint64_t* a, const NttTables& tables, std::size_t t, std::size_t m) {
  const std::uint64_t q = tables.modulus().value(), two_q = 2 * q;
  const std::uint64_t* W = tables.root_values();
  const std::uint64_t* Q = tables.root_quotients();
  const std::size_t h = t >> 1;
  const bool last = h == 1;
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint64_t w1 = W[m + i], q1 = Q[m + i];
    const std::uint64_t w2 = W[2 * m + 2 * i], q2 = Q[2 * m + 2 * i];
    const std::uint64_t w3 = W[2 * m + 2 * i + 1], q3 = Q[2 * m + 2 * i + 1];
    std::uint64_t* x = a + 2 * i * t;
    for (std::size_t j = 0; j < h; ++j) {
      std::uint64_t x0 = x[j], x1 = x[j + h], x2 = x[j + t], x3 = x[j + t + h];
      ct_s(x0, x2, w1, q1, q, two_q);
      ct_s(x1, x3, w1, q1, q, two_q);
      ct_s(x0, x1, w2, q2, q, two_q);
      ct_s(x2, x3, w3, q3, q, two_q);
      if (kFull && last) {
        x0 = full_s(x0, q);
        x1 = full_s(x1, q);
        x2 = full_s(x2, q);
        x3 = full_s(x3, q);
      }
      x[j] = x0;
      x[j + h] = x1;
      x[j + t] = x2;
      x[j + t + h] = x3;
    }
  }
}

template <bool kFull>
void forward_scalar(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t q = tables.modulus().value(), two_q = 2 * q;
  const std::uint64_t* W = tables.root_values();
  const std::uint64_t* Q = tables.root_quotients();
  std::size_t t = n >> 1, m = 1;
  if (tables.log_n() & 1) {  // one radix-2 layer first
    for (std::size_t j = 0; j < t; ++j) ct_s(a[j], a[j + t], W[1], Q[1], q, two_q);
    if (kFull && n == 2) {
      a[0] = full_s(a[0], q);
      a[1] = full_s(a[1], q);
    }
    m = 2;
    t >>= 1;
  }
  for (; t >= 2; m <<= 2, t >>= 2) forward_pass4_s<kFull>(a, tables, t, m);
}

template <bool kFull>
inline void final_s(std::uint64_t& x, std::uint64_t& y, const NttTables& tables, std::uint64_t q,
                    std::uint64_t two_q) {
  const std::uint64_t u = x, v = y;
  x = mul_shoup_lazy(u + v, tables.inv_n(), q);
  y = mul_shoup_lazy(u + two_q - v, tables.inv_n_root(), q);
  if (kFull) {
    x -= (x >= q) ? q : 0;
    y -= (y >= q) ? q : 0;
  }
}

// One inverse radix-4 pass: layers t and 2t (m = n / (2t) groups in the first); inputs and outputs
// in [0, 2q); the last pass (m = 2) carries the 1/n and gives [0, q) when kFull.
template <bool kFull>
void inverse_pass4_s(std::uint64_t* a, const NttTables& tables, std::size_t t, std::size_t m) {
  const std::uint64_t q = tables.modulus().value(), two_q = 2 * q;
  const std::uint64_t* W = tables.inv_root_values();
  const std::uint64_t* Q = tables.inv_root_quotients();
  const bool last = m == 2;
  for (std::size_t i = 0; i < m / 2; ++i) {
    const std::uint64_t wa = W[m + 2 * i], qa = Q[m + 2 * i];
    const std::uint64_t wb = W[m + 2 * i + 1], qb = Q[m + 2 * i + 1];
    const std::uint64_t wc = W[m / 2 + i], qc = Q[m / 2 + i];
    std::uint64_t* x = a + 4 * i * t;
    for (std::size_t j = 0; j < t; ++j) {
      std::uint64_t x0 = x[j], x1 = x[j + t], x2 = x[j + 2 * t], x3 = x[j + 3 * t];
      gs_s(x0, x1, wa, qa, q, two_q);
      gs_s(x2, x3, wb, qb, q, two_q);
      if (last) {
        final_s<kFull>(x0, x2, tables, q, two_q);
        final_s<kFull>(x1, x3, tables, q, two_q);
      } else {
        gs_s(x0, x2, wc, qc, q, two_q);
        gs_s(x1, x3, wc, qc, q, two_q);
      }
      x[j] = x0;
      x[j + t] = x1;
      x[j + 2 * t] = x2;
      x[j + 3 * t] = x3;
    }
  }
}

template <bool kFull>
void inverse_scalar(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t q = tables.modulus().value(), two_q = 2 * q;
  const std::uint64_t* W = tables.inv_root_values();
  const std::uint64_t* Q = tables.inv_root_quotients();
  std::size_t t = 1, m = n >> 1;
  if (tables.log_n() & 1) {  // one radix-2 layer first (the last layer too when n = 2)
    if (n == 2) {
      final_s<kFull>(a[0], a[1], tables, q, two_q);
      return;
    }
    for (std::size_t i = 0; i < m; ++i) gs_s(a[2 * i], a[2 * i + 1], W[m + i], Q[m + i], q, two_q);
    m >>= 1;
    t = 2;
  }
  for (; m > 1; m >>= 2, t <<= 2) inverse_pass4_s<kFull>(a, tables, t, m);
}

}  // namespace

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define CU_NTT_AVX512 1
namespace {

// Two vector multipliers for the Shoup lazy product W*Y mod q:
//  * Mul52 (AVX-512 IFMA, q < 2^50), result in [0, 2q): values stay below 4q < 2^52, so the 52-bit
//    multiplier gives W*Y - floor(W' Y / 2^52) q exactly from the low 52 bits (W' = floor(W 2^52 / q));
//  * Mul64 (q < 2^60; larger primes take the scalar path), result in [0, 4q): the 64-bit quotient
//    W' = floor(W 2^64 / q), the high half of Y*W' estimated from three 32-bit products (AVX-512
//    has no 64x64 -> 128 multiply); no correction step, the butterflies absorb the wider range.
struct Mul52 {
  __m512i q, mask52;
  explicit Mul52(std::uint64_t qv) : q(_mm512_set1_epi64(static_cast<long long>(qv))),
                                     mask52(_mm512_set1_epi64((1LL << 52) - 1)) {}
  static const std::uint64_t* quotients(const NttTables& t, bool inverse) {
    return inverse ? t.inv_root_q52().data() : t.root_q52().data();
  }
  static std::uint64_t inv_n_quotient(const NttTables& t) { return t.inv_n_q52(); }
  static std::uint64_t inv_n_root_quotient(const NttTables& t) { return t.inv_n_root_q52(); }
  static constexpr std::uint64_t kBound = 2;  // lazy() lands in [0, 2q)
  struct Tw {
    __m512i w, wq;
  };
  [[nodiscard]] Tw prep(__m512i w, __m512i wq) const { return {w, wq}; }
  [[nodiscard]] __m512i lazy(__m512i y, const Tw& t) const { return lazy(y, t.w, t.wq); }
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
  static const std::uint64_t* quotients(const NttTables& t, bool inverse) {
    return inverse ? t.inv_root_quotients() : t.root_quotients();
  }
  static std::uint64_t inv_n_quotient(const NttTables& t) { return t.inv_n().quotient; }
  static std::uint64_t inv_n_root_quotient(const NttTables& t) { return t.inv_n_root().quotient; }
  static constexpr std::uint64_t kBound = 4;  // lazy() lands in [0, 4q)
  // High 64 bits of a*b: with a = ah 2^32 + al, b = bh 2^32 + bl, t = ah bl + (al bl >> 32) and
  // u = al bh + (t mod 2^32) both fit 64 bits, and hi = ah bh + (t >> 32) + (u >> 32).
  [[nodiscard]] __m512i mulhi(__m512i a, __m512i b) const {
    const __m512i ah = _mm512_srli_epi64(a, 32), bh = _mm512_srli_epi64(b, 32);
    const __m512i ll = _mm512_mul_epu32(a, b), lh = _mm512_mul_epu32(a, bh);
    const __m512i hl = _mm512_mul_epu32(ah, b), hh = _mm512_mul_epu32(ah, bh);
    const __m512i t = _mm512_add_epi64(hl, _mm512_srli_epi64(ll, 32));
    const __m512i u = _mm512_add_epi64(lh, _mm512_and_si512(t, lo32));
    return _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(t, 32)), _mm512_srli_epi64(u, 32));
  }
  // A lower estimate of the high half, short by at most 2: the partial products ah bl and al bh
  // are added after dropping their low 32 bits, al bl is ignored.
  [[nodiscard]] __m512i mulhi_est(__m512i a, __m512i b) const {
    const __m512i ah = _mm512_srli_epi64(a, 32), bh = _mm512_srli_epi64(b, 32);
    const __m512i lh = _mm512_mul_epu32(a, bh), hl = _mm512_mul_epu32(ah, b), hh = _mm512_mul_epu32(ah, bh);
    return _mm512_add_epi64(hh, _mm512_add_epi64(_mm512_srli_epi64(lh, 32), _mm512_srli_epi64(hl, 32)));
  }
  // Shoup with the estimated quotient: W Y - qhat q lies in [0, 4q) and is left there.
  [[nodiscard]] __m512i lazy(__m512i y, __m512i w, __m512i wq) const {
    const __m512i qhat = mulhi_est(y, wq);
    return _mm512_sub_epi64(_mm512_mullo_epi64(y, w), _mm512_mullo_epi64(qhat, q));
  }
  // A twiddle broadcast over a whole pass, prepared once: W, W'' = floor(W 2^63 / q) = W' >> 1,
  // hi = W'' >> 32 and 2 hi. For Y < 2^63 (ah < 2^31, hi < 2^31) the two middle partial products
  // are below 2^63 each, so their sum does not overflow and one shift replaces two:
  // qhat = ah (2 hi) + ((al hi + ah lo) >> 31), short of floor(Y W / q) by at most 3, so
  // W Y - qhat q again lies in [0, 4q).
  struct Tw {
    __m512i w, lo, hi, hi2;
  };
  [[nodiscard]] Tw prep(__m512i w, __m512i wq) const {
    const __m512i w63 = _mm512_srli_epi64(wq, 1), hi = _mm512_srli_epi64(w63, 32);
    return {w, w63, hi, _mm512_add_epi64(hi, hi)};
  }
  [[nodiscard]] __m512i lazy(__m512i y, const Tw& t) const {
    const __m512i ah = _mm512_srli_epi64(y, 32);
    const __m512i mid = _mm512_add_epi64(_mm512_mul_epu32(y, t.hi), _mm512_mul_epu32(ah, t.lo));
    const __m512i qhat = _mm512_add_epi64(_mm512_mul_epu32(ah, t.hi2), _mm512_srli_epi64(mid, 31));
    return _mm512_sub_epi64(_mm512_mullo_epi64(y, t.w), _mm512_mullo_epi64(qhat, q));
  }
};

inline __m512i bcast(std::uint64_t v) { return _mm512_set1_epi64(static_cast<long long>(v)); }
inline __m512i load(const std::uint64_t* p) { return _mm512_loadu_si512(p); }
inline void store(std::uint64_t* p, __m512i v) { _mm512_storeu_si512(p, v); }

// Ranges: with B = M::kBound q (the multiplier's output bound: 2q for Mul52, 4q for Mul64), forward
// values stay in [0, 2B) and inverse values in [0, B); each butterfly makes one conditional
// subtraction (of X or of X + Y) and none inside the multiplier.
template <class M>
struct Ctx {
  M mul;
  __m512i q, two_q, four_q, b;
  const std::uint64_t *W, *Q;
  Ctx(const NttTables& t, bool inverse)
      : mul(t.modulus().value()), q(bcast(t.modulus().value())), two_q(bcast(2 * t.modulus().value())),
        four_q(bcast(4 * t.modulus().value())), b(bcast(M::kBound * t.modulus().value())),
        W(inverse ? t.inv_root_values() : t.root_values()), Q(M::quotients(t, inverse)) {}
  // X, Y in [0, 2B) -> X' = (X mod B) + WY, Y' = (X mod B) - WY + B, both in [0, 2B).
  void ct(__m512i& x, __m512i& y, __m512i w, __m512i wq) const {
    x = _mm512_min_epu64(x, _mm512_sub_epi64(x, b));
    const __m512i t = mul.lazy(y, w, wq);
    y = _mm512_add_epi64(_mm512_sub_epi64(x, t), b);
    x = _mm512_add_epi64(x, t);
  }
  void ct(__m512i& x, __m512i& y, const typename M::Tw& w) const {
    x = _mm512_min_epu64(x, _mm512_sub_epi64(x, b));
    const __m512i t = mul.lazy(y, w);
    y = _mm512_add_epi64(_mm512_sub_epi64(x, t), b);
    x = _mm512_add_epi64(x, t);
  }
  // X, Y in [0, B) -> X' = (X + Y) mod B, Y' = W (X - Y + B), both in [0, B).
  void gs(__m512i& x, __m512i& y, __m512i w, __m512i wq) const {
    const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(x, b), y);
    const __m512i s = _mm512_add_epi64(x, y);
    x = _mm512_min_epu64(s, _mm512_sub_epi64(s, b));
    y = mul.lazy(d, w, wq);
  }
  void gs(__m512i& x, __m512i& y, const typename M::Tw& w) const {
    const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(x, b), y);
    const __m512i s = _mm512_add_epi64(x, y);
    x = _mm512_min_epu64(s, _mm512_sub_epi64(s, b));
    y = mul.lazy(d, w);
  }
  [[nodiscard]] static __m512i csub(__m512i x, __m512i m) { return _mm512_min_epu64(x, _mm512_sub_epi64(x, m)); }
  // Forward output [0, 2B) -> [0, q) (kFull) or [0, 4q) (lazy contract).
  template <bool kFull>
  [[nodiscard]] __m512i fwd_out(__m512i x) const {
    if constexpr (M::kBound == 4) x = csub(x, four_q);
    if constexpr (kFull) x = csub(csub(x, two_q), q);
    return x;
  }
  // Inverse output [0, B) -> [0, q) (kFull) or [0, 2q) (lazy contract).
  template <bool kFull>
  [[nodiscard]] __m512i inv_out(__m512i x) const {
    if constexpr (M::kBound == 4) x = csub(x, two_q);
    if constexpr (kFull) x = csub(x, q);
    return x;
  }
};

// A block of 16 elements in two vectors, for the layers t = 4, 2, 1 whose groups are shorter than
// a vector. Layout L_t (G = 8 / t groups of 2t elements): lane l of vector 0 holds position l / G of
// the X half of group l % G, vector 1 the matching Y element; L_8 is the natural order. With the
// group index running fastest over the lanes, the twiddles of a layer are a broadcast of G
// consecutive table entries (no permutation). Moving between layouts costs two two-source
// permutations.
struct Perms {
  __m512i to[4][4][2];  // to[from][to][vector], layouts indexed 0: L_8, 1: L_4, 2: L_2, 3: L_1
  Perms() {
    auto pos = [](int layout, int e) {  // vector * 8 + lane
      const int t = 8 >> layout, groups = 8 / t, g = e / (2 * t), r = e % (2 * t);
      return 8 * (r / t) + (r % t) * groups + g;
    };
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b) {
        alignas(64) long long idx[2][8];
        for (int e = 0; e < 16; ++e) {
          const int pb = pos(b, e);
          idx[pb / 8][pb % 8] = pos(a, e);
        }
        to[a][b][0] = _mm512_load_si512(idx[0]);
        to[a][b][1] = _mm512_load_si512(idx[1]);
      }
  }
  static const Perms& get() {
    static const Perms p;
    return p;
  }
};

inline void relayout(__m512i& v0, __m512i& v1, const __m512i* idx) {
  const __m512i a = _mm512_permutex2var_epi64(v0, idx[0], v1);
  v1 = _mm512_permutex2var_epi64(v0, idx[1], v1);
  v0 = a;
}
// Twiddles of the t = 4 / 2 layers for a 16-element block: 2 (4) consecutive entries repeated.
inline __m512i tw4(const std::uint64_t* p) {
  return _mm512_broadcast_i64x2(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m512i tw2(const std::uint64_t* p) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Forward layers t = 16 (if k32) .. 1 on blocks of 32 (16) elements, in registers. Two blocks
// are interleaved per step: their dependency chains are independent, and the out-of-order core
// needs both in its window to hide the multiply and permute latencies.
template <class M, bool kFull>
inline void forward_small2(__m512i* v, std::size_t k, std::size_t n, const Ctx<M>& c, const Perms& P) {
  // v[0], v[1]: block k; v[2], v[3]: block k + 1 (16 elements each)
  relayout(v[0], v[1], P.to[0][1]);
  relayout(v[2], v[3], P.to[0][1]);
  c.ct(v[0], v[1], tw4(c.W + n / 8 + 2 * k), tw4(c.Q + n / 8 + 2 * k));
  c.ct(v[2], v[3], tw4(c.W + n / 8 + 2 * k + 2), tw4(c.Q + n / 8 + 2 * k + 2));
  relayout(v[0], v[1], P.to[1][2]);
  relayout(v[2], v[3], P.to[1][2]);
  c.ct(v[0], v[1], tw2(c.W + n / 4 + 4 * k), tw2(c.Q + n / 4 + 4 * k));
  c.ct(v[2], v[3], tw2(c.W + n / 4 + 4 * k + 4), tw2(c.Q + n / 4 + 4 * k + 4));
  relayout(v[0], v[1], P.to[2][3]);
  relayout(v[2], v[3], P.to[2][3]);
  c.ct(v[0], v[1], load(c.W + n / 2 + 8 * k), load(c.Q + n / 2 + 8 * k));
  c.ct(v[2], v[3], load(c.W + n / 2 + 8 * k + 8), load(c.Q + n / 2 + 8 * k + 8));
  relayout(v[0], v[1], P.to[3][0]);
  relayout(v[2], v[3], P.to[3][0]);
  for (int i = 0; i < 4; ++i) v[i] = c.template fwd_out<kFull>(v[i]);
}

template <class M>
inline void inverse_small2(__m512i* v, std::size_t k, std::size_t n, const Ctx<M>& c, const Perms& P) {
  relayout(v[0], v[1], P.to[0][3]);
  relayout(v[2], v[3], P.to[0][3]);
  c.gs(v[0], v[1], load(c.W + n / 2 + 8 * k), load(c.Q + n / 2 + 8 * k));
  c.gs(v[2], v[3], load(c.W + n / 2 + 8 * k + 8), load(c.Q + n / 2 + 8 * k + 8));
  relayout(v[0], v[1], P.to[3][2]);
  relayout(v[2], v[3], P.to[3][2]);
  c.gs(v[0], v[1], tw2(c.W + n / 4 + 4 * k), tw2(c.Q + n / 4 + 4 * k));
  c.gs(v[2], v[3], tw2(c.W + n / 4 + 4 * k + 4), tw2(c.Q + n / 4 + 4 * k + 4));
  relayout(v[0], v[1], P.to[2][1]);
  relayout(v[2], v[3], P.to[2][1]);
  c.gs(v[0], v[1], tw4(c.W + n / 8 + 2 * k), tw4(c.Q + n / 8 + 2 * k));
  c.gs(v[2], v[3], tw4(c.W + n / 8 + 2 * k + 2), tw4(c.Q + n / 8 + 2 * k + 2));
  relayout(v[0], v[1], P.to[1][0]);
  relayout(v[2], v[3], P.to[1][0]);
}

// Forward layers t = 16 .. 1 on blocks of 32 elements (two at a time), or t = 8 .. 1 on blocks of
// 16 (two at a time) when n = 32.
template <class M, bool kFull>
void forward_blocks(std::uint64_t* a, std::size_t n, const Ctx<M>& c) {
  const Perms& P = Perms::get();
  if (n >= 64) {
    for (std::size_t b = 0; b < n / 32; b += 2) {
      std::uint64_t* p = a + 32 * b;
      __m512i v[8];
      for (int i = 0; i < 8; ++i) v[i] = load(p + 8 * i);
      for (int h = 0; h < 2; ++h) {
        const __m512i w = bcast(c.W[n / 32 + b + h]), wq = bcast(c.Q[n / 32 + b + h]);
        c.ct(v[4 * h], v[4 * h + 2], w, wq);
        c.ct(v[4 * h + 1], v[4 * h + 3], w, wq);
      }
      for (int h = 0; h < 2; ++h) {
        c.ct(v[4 * h], v[4 * h + 1], bcast(c.W[n / 16 + 2 * (b + h)]), bcast(c.Q[n / 16 + 2 * (b + h)]));
        c.ct(v[4 * h + 2], v[4 * h + 3], bcast(c.W[n / 16 + 2 * (b + h) + 1]), bcast(c.Q[n / 16 + 2 * (b + h) + 1]));
      }
      // 16-element blocks 2b, 2b+1 (v0..v3) and 2b+2, 2b+3 (v4..v7)
      forward_small2<M, kFull>(v, 2 * b, n, c, P);
      forward_small2<M, kFull>(v + 4, 2 * b + 2, n, c, P);
      for (int i = 0; i < 8; ++i) store(p + 8 * i, v[i]);
    }
  } else {
    __m512i v[4];
    for (int i = 0; i < 4; ++i) v[i] = load(a + 8 * i);
    c.ct(v[0], v[1], bcast(c.W[n / 16]), bcast(c.Q[n / 16]));
    c.ct(v[2], v[3], bcast(c.W[n / 16 + 1]), bcast(c.Q[n / 16 + 1]));
    forward_small2<M, kFull>(v, 0, n, c, P);
    for (int i = 0; i < 4; ++i) store(a + 8 * i, v[i]);
  }
}

template <class M>
void inverse_blocks(std::uint64_t* a, std::size_t n, const Ctx<M>& c) {
  const Perms& P = Perms::get();
  if (n >= 64) {
    for (std::size_t b = 0; b < n / 32; b += 2) {
      std::uint64_t* p = a + 32 * b;
      __m512i v[8];
      for (int i = 0; i < 8; ++i) v[i] = load(p + 8 * i);
      inverse_small2<M>(v, 2 * b, n, c, P);
      inverse_small2<M>(v + 4, 2 * b + 2, n, c, P);
      for (int h = 0; h < 2; ++h) {
        c.gs(v[4 * h], v[4 * h + 1], bcast(c.W[n / 16 + 2 * (b + h)]), bcast(c.Q[n / 16 + 2 * (b + h)]));
        c.gs(v[4 * h + 2], v[4 * h + 3], bcast(c.W[n / 16 + 2 * (b + h) + 1]), bcast(c.Q[n / 16 + 2 * (b + h) + 1]));
      }
      for (int h = 0; h < 2; ++h) {
        const __m512i w = bcast(c.W[n / 32 + b + h]), wq = bcast(c.Q[n / 32 + b + h]);
        c.gs(v[4 * h], v[4 * h + 2], w, wq);
        c.gs(v[4 * h + 1], v[4 * h + 3], w, wq);
      }
      for (int i = 0; i < 8; ++i) store(p + 8 * i, v[i]);
    }
  } else {
    __m512i v[4];
    for (int i = 0; i < 4; ++i) v[i] = load(a + 8 * i);
    inverse_small2<M>(v, 0, n, c, P);
    c.gs(v[0], v[1], bcast(c.W[n / 16]), bcast(c.Q[n / 16]));
    c.gs(v[2], v[3], bcast(c.W[n / 16 + 1]), bcast(c.Q[n / 16 + 1]));
    for (int i = 0; i < 4; ++i) store(a + 8 * i, v[i]);
  }
}

// Forward layers t = n/2 down to t_end (> 8), radix-2 first if their number is odd, then radix-4.
template <class M>
void forward_wide(std::uint64_t* a, std::size_t n, std::size_t t_end, const Ctx<M>& c) {
  std::size_t t = n >> 1, m = 1;
  int layers = 0;
  for (std::size_t s = t; s >= t_end; s >>= 1) ++layers;
  if (layers & 1) {
    const auto w = c.mul.prep(bcast(c.W[1]), bcast(c.Q[1]));
    for (std::size_t j = 0; j < t; j += 8) {
      __m512i x = load(a + j), y = load(a + j + t);
      c.ct(x, y, w);
      store(a + j, x);
      store(a + j + t, y);
    }
    m = 2;
    t >>= 1;
  }
  for (; t >= 2 * t_end; m <<= 2, t >>= 2) {
    const std::size_t h = t >> 1;
    for (std::size_t i = 0; i < m; ++i) {
      const auto w1 = c.mul.prep(bcast(c.W[m + i]), bcast(c.Q[m + i]));
      const auto w2 = c.mul.prep(bcast(c.W[2 * m + 2 * i]), bcast(c.Q[2 * m + 2 * i]));
      const auto w3 = c.mul.prep(bcast(c.W[2 * m + 2 * i + 1]), bcast(c.Q[2 * m + 2 * i + 1]));
      std::uint64_t* x = a + 2 * i * t;
      for (std::size_t j = 0; j < h; j += 8) {
        __m512i x0 = load(x + j), x1 = load(x + j + h), x2 = load(x + j + t), x3 = load(x + j + t + h);
        c.ct(x0, x2, w1);
        c.ct(x1, x3, w1);
        c.ct(x0, x1, w2);
        c.ct(x2, x3, w3);
        store(x + j, x0);
        store(x + j + h, x1);
        store(x + j + t, x2);
        store(x + j + t + h, x3);
      }
    }
  }
}

// The last inverse layer with the factor 1/n: X' = (u + v)/n, Y' = (u - v) psi^-br(1) / n.
template <class M, bool kFull>
struct Final {
  __m512i ninv, ninv_q, nw, nw_q;
  explicit Final(const NttTables& t)
      : ninv(bcast(t.inv_n().value)), ninv_q(bcast(M::inv_n_quotient(t))), nw(bcast(t.inv_n_root().value)),
        nw_q(bcast(M::inv_n_root_quotient(t))) {}
  void operator()(__m512i& x, __m512i& y, const Ctx<M>& c) const {
    const __m512i s = _mm512_add_epi64(x, y);
    const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(x, c.b), y);
    x = c.template inv_out<kFull>(c.mul.lazy(s, ninv, ninv_q));
    y = c.template inv_out<kFull>(c.mul.lazy(d, nw, nw_q));
  }
};

// Inverse layers t = t_begin (> 8) up to n/2, the last one scaled by 1/n.
template <class M, bool kFull>
void inverse_wide(std::uint64_t* a, std::size_t n, std::size_t t_begin, const NttTables& tables, const Ctx<M>& c) {
  const Final<M, kFull> fin(tables);
  std::size_t t = t_begin, m = n / (2 * t_begin);
  int layers = 0;
  for (std::size_t s = t; s <= n / 2; s <<= 1) ++layers;
  if (layers & 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const auto w = c.mul.prep(bcast(c.W[m + i]), bcast(c.Q[m + i]));
      std::uint64_t* x = a + 2 * i * t;
      for (std::size_t j = 0; j < t; j += 8) {
        __m512i u = load(x + j), v = load(x + j + t);
        if (m == 1) {
          fin(u, v, c);
        } else {
          c.gs(u, v, w);
        }
        store(x + j, u);
        store(x + j + t, v);
      }
    }
    m >>= 1;
    t <<= 1;
  }
  for (; m > 1; m >>= 2, t <<= 2) {
    const bool last = m == 2;
    for (std::size_t i = 0; i < m / 2; ++i) {
      const auto wa = c.mul.prep(bcast(c.W[m + 2 * i]), bcast(c.Q[m + 2 * i]));
      const auto wb = c.mul.prep(bcast(c.W[m + 2 * i + 1]), bcast(c.Q[m + 2 * i + 1]));
      const auto wc = c.mul.prep(bcast(c.W[m / 2 + i]), bcast(c.Q[m / 2 + i]));
      std::uint64_t* x = a + 4 * i * t;
      for (std::size_t j = 0; j < t; j += 8) {
        __m512i x0 = load(x + j), x1 = load(x + j + t), x2 = load(x + j + 2 * t), x3 = load(x + j + 3 * t);
        c.gs(x0, x1, wa);
        c.gs(x2, x3, wb);
        if (last) {
          fin(x0, x2, c);
          fin(x1, x3, c);
        } else {
          c.gs(x0, x2, wc);
          c.gs(x1, x3, wc);
        }
        store(x + j, x0);
        store(x + j + t, x1);
        store(x + j + 2 * t, x2);
        store(x + j + 3 * t, x3);
      }
    }
  }
}

template <class M, bool kFull>
void forward_vec(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const Ctx<M> c(tables, false);
  if (n >= 64) {
    forward_wide<M>(a, n, 32, c);
    forward_blocks<M, kFull>(a, n, c);
  } else {
    forward_wide<M>(a, n, 16, c);
    forward_blocks<M, kFull>(a, n, c);
  }
}

template <class M, bool kFull>
void inverse_vec(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const Ctx<M> c(tables, true);
  if (n >= 64) {
    inverse_blocks<M>(a, n, c);
    inverse_wide<M, kFull>(a, n, 32, tables, c);
  } else {
    inverse_blocks<M>(a, n, c);
    inverse_wide<M, kFull>(a, n, 16, tables, c);
  }
}

// 0: scalar, 1: 64-bit vectors, 2: IFMA vectors.
int vector_kind(const NttTables& t) {
  if (t.n() < 32) return 0;
#if defined(__AVX512IFMA__)
  if (!t.root_q52().empty()) return 2;
#endif
  return t.modulus().value() < (std::uint64_t{1} << 60) ? 1 : 0;
}

}  // namespace
#endif

#if !defined(CU_NTT_AVX512) && defined(__AVX2__)
#define CU_NTT_AVX2 1
namespace {

// AVX2 (4 x 64-bit lanes, no 64-bit multiply-low, no unsigned 64-bit min) for primes q < 2^60:
// the vector passes take the layers with t >= 4 (contiguous groups of four), the two smallest
// layers run in the scalar radix-4 pass. Values stay below 8q < 2^63, so "x >= B ? x - B : x" is
// a subtraction and a blend on the sign bit. Products as in the AVX-512 64-bit kernel: quotient
// qhat = ah (2 hi) + ((al hi + ah lo) >> 31) from W'' = floor(W 2^63 / q), short by at most 3, and
// the low 64 bits of W Y - qhat q from 32-bit pieces; the lazy product lies in [0, 4q) = [0, B).
struct Avx2 {
  __m256i q, qh, b, two_q, four_q;
  const std::uint64_t *W, *Q;
  Avx2(const NttTables& t, bool inverse)
      : q(_mm256_set1_epi64x(static_cast<long long>(t.modulus().value()))),
        qh(_mm256_srli_epi64(q, 32)),
        b(_mm256_set1_epi64x(static_cast<long long>(4 * t.modulus().value()))),
        two_q(_mm256_add_epi64(q, q)),
        four_q(b),
        W(inverse ? t.inv_root_values() : t.root_values()),
        Q(inverse ? t.inv_root_quotients() : t.root_quotients()) {}
  struct Tw {
    __m256i w, wh, lo, hi, hi2;
  };
  [[nodiscard]] static Tw prep(std::uint64_t w, std::uint64_t wq) {
    const std::uint64_t w63 = wq >> 1, hi = w63 >> 32;
    auto b = [](std::uint64_t v) { return _mm256_set1_epi64x(static_cast<long long>(v)); };
    return {b(w), b(w >> 32), b(w63), b(hi), b(2 * hi)};
  }
  [[nodiscard]] __m256i lazy(__m256i y, const Tw& t) const {
    const __m256i ah = _mm256_srli_epi64(y, 32);
    const __m256i mid = _mm256_add_epi64(_mm256_mul_epu32(y, t.hi), _mm256_mul_epu32(ah, t.lo));
    const __m256i qhat = _mm256_add_epi64(_mm256_mul_epu32(ah, t.hi2), _mm256_srli_epi64(mid, 31));
    const __m256i qhh = _mm256_srli_epi64(qhat, 32);
    // low 64 bits of y w - qhat q = (al wl - ql ql') + ((ah wl + al wh - qh ql' - ql qh') << 32)
    const __m256i low = _mm256_sub_epi64(_mm256_mul_epu32(y, t.w), _mm256_mul_epu32(qhat, q));
    const __m256i cross = _mm256_sub_epi64(
        _mm256_add_epi64(_mm256_mul_epu32(ah, t.w), _mm256_mul_epu32(y, t.wh)),
        _mm256_add_epi64(_mm256_mul_epu32(qhh, q), _mm256_mul_epu32(qhat, qh)));
    return _mm256_add_epi64(low, _mm256_slli_epi64(cross, 32));
  }
  // x - m if x >= m else x, for x, m < 2^63.
  [[nodiscard]] static __m256i csub(__m256i x, __m256i m) {
    const __m256i d = _mm256_sub_epi64(x, m);
    return _mm256_castpd_si256(
        _mm256_blendv_pd(_mm256_castsi256_pd(d), _mm256_castsi256_pd(x), _mm256_castsi256_pd(d)));
  }
  void ct(__m256i& x, __m256i& y, const Tw& w) const {  // [0, 2B) -> [0, 2B)
    x = csub(x, b);
    const __m256i t = lazy(y, w);
    y = _mm256_add_epi64(_mm256_sub_epi64(x, t), b);
    x = _mm256_add_epi64(x, t);
  }
  void gs(__m256i& x, __m256i& y, const Tw& w) const {  // [0, B) -> [0, B)
    const __m256i d = _mm256_sub_epi64(_mm256_add_epi64(x, b), y);
    x = csub(_mm256_add_epi64(x, y), b);
    y = lazy(d, w);
  }
};

inline __m256i load4(const std::uint64_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline void store4(std::uint64_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

// 4 x 4 transpose: row r of (v0..v3) becomes lane r of each vector (its own inverse).
inline void transpose4(__m256i& v0, __m256i& v1, __m256i& v2, __m256i& v3) {
  const __m256i t0 = _mm256_unpacklo_epi64(v0, v1), t1 = _mm256_unpackhi_epi64(v0, v1);
  const __m256i t2 = _mm256_unpacklo_epi64(v2, v3), t3 = _mm256_unpackhi_epi64(v2, v3);
  v0 = _mm256_permute2x128_si256(t0, t2, 0x20);
  v1 = _mm256_permute2x128_si256(t1, t3, 0x20);
  v2 = _mm256_permute2x128_si256(t0, t2, 0x31);
  v3 = _mm256_permute2x128_si256(t1, t3, 0x31);
}
// Per-lane twiddles for the layers t = 2 and t = 1 of 16-element block k, after transpose4 (lane r
// holds elements 16k + 4r .. 16k + 4r + 3): t = 2 uses entry n/4 + 4k + r, t = 1 entries
// n/2 + 8k + 2r (pairs 0-1) and n/2 + 8k + 2r + 1 (pairs 2-3).
inline Avx2::Tw prep_lanes(__m256i w, __m256i wq) {
  const __m256i w63 = _mm256_srli_epi64(wq, 1), hi = _mm256_srli_epi64(w63, 32);
  return {w, _mm256_srli_epi64(w, 32), w63, hi, _mm256_add_epi64(hi, hi)};
}
inline __m256i evens(const std::uint64_t* p) {
  return _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(load4(p), load4(p + 4)), 0xD8);
}
inline __m256i odds(const std::uint64_t* p) {
  return _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(load4(p), load4(p + 4)), 0xD8);
}

template <bool kFull>
void forward_avx2(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const Avx2 c(tables, false);
  std::size_t t = n >> 1, m = 1;
  if (tables.log_n() & 1) {
    const Avx2::Tw w = Avx2::prep(c.W[1], c.Q[1]);
    for (std::size_t j = 0; j < t; j += 4) {
      __m256i x = load4(a + j), y = load4(a + j + t);
      c.ct(x, y, w);
      store4(a + j, x);
      store4(a + j + t, y);
    }
    m = 2;
    t >>= 1;
  }
  for (; t >= 8; m <<= 2, t >>= 2) {
    const std::size_t h = t >> 1;
    for (std::size_t i = 0; i < m; ++i) {
      const Avx2::Tw w1 = Avx2::prep(c.W[m + i], c.Q[m + i]);
      const Avx2::Tw w2 = Avx2::prep(c.W[2 * m + 2 * i], c.Q[2 * m + 2 * i]);
      const Avx2::Tw w3 = Avx2::prep(c.W[2 * m + 2 * i + 1], c.Q[2 * m + 2 * i + 1]);
      std::uint64_t* x = a + 2 * i * t;
      for (std::size_t j = 0; j < h; j += 4) {
        __m256i x0 = load4(x + j), x1 = load4(x + j + h), x2 = load4(x + j + t), x3 = load4(x + j + t + h);
        c.ct(x0, x2, w1);
        c.ct(x1, x3, w1);
        c.ct(x0, x1, w2);
        c.ct(x2, x3, w3);
        store4(x + j, x0);
        store4(x + j + h, x1);
        store4(x + j + t, x2);
        store4(x + j + t + h, x3);
      }
    }
  }
  // t = 2: layers 2 and 1 on 16-element blocks, transposed so that both are vertical.
  for (std::size_t k = 0; k < n / 16; ++k) {
    std::uint64_t* p = a + 16 * k;
    __m256i v0 = load4(p), v1 = load4(p + 4), v2 = load4(p + 8), v3 = load4(p + 12);
    transpose4(v0, v1, v2, v3);
    const Avx2::Tw w2 = prep_lanes(load4(c.W + n / 4 + 4 * k), load4(c.Q + n / 4 + 4 * k));
    c.ct(v0, v2, w2);
    c.ct(v1, v3, w2);
    const Avx2::Tw we = prep_lanes(evens(c.W + n / 2 + 8 * k), evens(c.Q + n / 2 + 8 * k));
    const Avx2::Tw wo = prep_lanes(odds(c.W + n / 2 + 8 * k), odds(c.Q + n / 2 + 8 * k));
    c.ct(v0, v1, we);
    c.ct(v2, v3, wo);
    auto out = [&](__m256i x) {  // [0, 8q) -> [0, q) or [0, 4q)
      x = Avx2::csub(x, c.four_q);
      return kFull ? Avx2::csub(Avx2::csub(x, c.two_q), c.q) : x;
    };
    v0 = out(v0);
    v1 = out(v1);
    v2 = out(v2);
    v3 = out(v3);
    transpose4(v0, v1, v2, v3);
    store4(p, v0);
    store4(p + 4, v1);
    store4(p + 8, v2);
    store4(p + 12, v3);
  }
}

template <bool kFull>
void inverse_avx2(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const Avx2 c(tables, true);
  // Layers 1 and 2 on transposed 16-element blocks (see forward_avx2).
  for (std::size_t k = 0; k < n / 16; ++k) {
    std::uint64_t* p = a + 16 * k;
    __m256i v0 = load4(p), v1 = load4(p + 4), v2 = load4(p + 8), v3 = load4(p + 12);
    transpose4(v0, v1, v2, v3);
    const Avx2::Tw we = prep_lanes(evens(c.W + n / 2 + 8 * k), evens(c.Q + n / 2 + 8 * k));
    const Avx2::Tw wo = prep_lanes(odds(c.W + n / 2 + 8 * k), odds(c.Q + n / 2 + 8 * k));
    c.gs(v0, v1, we);
    c.gs(v2, v3, wo);
    const Avx2::Tw w2 = prep_lanes(load4(c.W + n / 4 + 4 * k), load4(c.Q + n / 4 + 4 * k));
    c.gs(v0, v2, w2);
    c.gs(v1, v3, w2);
    transpose4(v0, v1, v2, v3);
    store4(p, v0);
    store4(p + 4, v1);
    store4(p + 8, v2);
    store4(p + 12, v3);
  }
  std::size_t t = 4, m = n >> 3;
  if (tables.log_n() & 1) {  // an odd number of layers left: one radix-2 pass (never the last, n >= 32)
    for (std::size_t i = 0; i < m; ++i) {
      const Avx2::Tw w = Avx2::prep(c.W[m + i], c.Q[m + i]);
      std::uint64_t* x = a + 2 * i * t;
      __m256i u = load4(x), v = load4(x + t);
      c.gs(u, v, w);
      store4(x, u);
      store4(x + t, v);
    }
    m >>= 1;
    t <<= 1;
  }
  const Avx2::Tw ninv = Avx2::prep(tables.inv_n().value, tables.inv_n().quotient);
  const Avx2::Tw nw = Avx2::prep(tables.inv_n_root().value, tables.inv_n_root().quotient);
  auto out = [&](__m256i x) {  // [0, 4q) -> [0, q) or [0, 2q)
    x = Avx2::csub(x, c.two_q);
    return kFull ? Avx2::csub(x, c.q) : x;
  };
  for (; m > 1; m >>= 2, t <<= 2) {
    const bool last = m == 2;
    for (std::size_t i = 0; i < m / 2; ++i) {
      const Avx2::Tw wa = Avx2::prep(c.W[m + 2 * i], c.Q[m + 2 * i]);
      const Avx2::Tw wb = Avx2::prep(c.W[m + 2 * i + 1], c.Q[m + 2 * i + 1]);
      const Avx2::Tw wc = Avx2::prep(c.W[m / 2 + i], c.Q[m / 2 + i]);
      std::uint64_t* x = a + 4 * i * t;
      for (std::size_t j = 0; j < t; j += 4) {
        __m256i x0 = load4(x + j), x1 = load4(x + j + t), x2 = load4(x + j + 2 * t), x3 = load4(x + j + 3 * t);
        c.gs(x0, x1, wa);
        c.gs(x2, x3, wb);
        if (last) {
          const __m256i s0 = _mm256_add_epi64(x0, x2), d0 = _mm256_sub_epi64(_mm256_add_epi64(x0, c.b), x2);
          const __m256i s1 = _mm256_add_epi64(x1, x3), d1 = _mm256_sub_epi64(_mm256_add_epi64(x1, c.b), x3);
          x0 = out(c.lazy(s0, ninv));
          x2 = out(c.lazy(d0, nw));
          x1 = out(c.lazy(s1, ninv));
          x3 = out(c.lazy(d1, nw));
        } else {
          c.gs(x0, x2, wc);
          c.gs(x1, x3, wc);
        }
        store4(x + j, x0);
        store4(x + j + t, x1);
        store4(x + j + 2 * t, x2);
        store4(x + j + 3 * t, x3);
      }
    }
  }
}

bool use_avx2(const NttTables& t) { return t.n() >= 32 && t.modulus().value() < (std::uint64_t{1} << 60); }

}  // namespace
#endif

std::uint64_t ntt_count() { return g_ntt_count.load(std::memory_order_relaxed); }

namespace {
template <bool kFull>
void forward_any(std::uint64_t* a, const NttTables& tables) {
  g_ntt_count.fetch_add(1, std::memory_order_relaxed);
#ifdef CU_NTT_AVX512
  switch (vector_kind(tables)) {
    case 2: forward_vec<Mul52, kFull>(a, tables); return;
    case 1: forward_vec<Mul64, kFull>(a, tables); return;
    default: break;
  }
#endif
#ifdef CU_NTT_AVX2
  if (use_avx2(tables)) return forward_avx2<kFull>(a, tables);
#endif
  forward_scalar<kFull>(a, tables);
}
template <bool kFull>
void inverse_any(std::uint64_t* a, const NttTables& tables) {
  g_ntt_count.fetch_add(1, std::memory_order_relaxed);
#ifdef CU_NTT_AVX512
  switch (vector_kind(tables)) {
    case 2: inverse_vec<Mul52, kFull>(a, tables); return;
    case 1: inverse_vec<Mul64, kFull>(a, tables); return;
    default: break;
  }
#endif
#ifdef CU_NTT_AVX2
  if (use_avx2(tables)) return inverse_avx2<kFull>(a, tables);
#endif
  inverse_scalar<kFull>(a, tables);
}
}  // namespace

void ntt_forward_lazy(std::uint64_t* a, const NttTables& tables) { forward_any<false>(a, tables); }
void ntt_forward(std::uint64_t* a, const NttTables& tables) { forward_any<true>(a, tables); }
void ntt_inverse_lazy(std::uint64_t* a, const NttTables& tables) { inverse_any<false>(a, tables); }
void ntt_inverse(std::uint64_t* a, const NttTables& tables) { inverse_any<true>(a, tables); }

namespace detail {
void ntt_forward_scalar(std::uint64_t* a, const NttTables& t, bool lazy) {
  lazy ? forward_scalar<false>(a, t) : forward_scalar<true>(a, t);
}
void ntt_inverse_scalar(std::uint64_t* a, const NttTables& t, bool lazy) {
  lazy ? inverse_scalar<false>(a, t) : inverse_scalar<true>(a, t);
}
}  // namespace detail

}  // namespace cryptounet::math
