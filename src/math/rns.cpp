#include "cryptounet/math/rns.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/parallel.h"
#include "simd52.h"

namespace cryptounet::math {
namespace {

using Words = std::vector<std::uint64_t>;

// out = a * w (out has a.size() + 1 words).
Words mul_word(std::span<const std::uint64_t> a, std::uint64_t w) {
  Words out(a.size() + 1, 0);
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const unsigned __int128 p = static_cast<unsigned __int128>(a[i]) * w + carry;
    out[i] = static_cast<std::uint64_t>(p);
    carry = static_cast<std::uint64_t>(p >> 64);
  }
  out[a.size()] = carry;
  return out;
}

// a += b (a at least as long as b); returns the carry out.
std::uint64_t add_in(Words& a, std::span<const std::uint64_t> b) {
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const unsigned __int128 s = static_cast<unsigned __int128>(a[i]) + (i < b.size() ? b[i] : 0) + carry;
    a[i] = static_cast<std::uint64_t>(s);
    carry = static_cast<std::uint64_t>(s >> 64);
  }
  return carry;
}

// a -= b; returns the borrow.
std::uint64_t sub_in(Words& a, std::span<const std::uint64_t> b) {
  std::uint64_t borrow = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::uint64_t bi = i < b.size() ? b[i] : 0;
    const unsigned __int128 d = static_cast<unsigned __int128>(a[i]) - bi - borrow;
    a[i] = static_cast<std::uint64_t>(d);
    borrow = static_cast<std::uint64_t>(d >> 64) ? 1 : 0;
  }
  return borrow;
}

// Compare a with b (b may be shorter).
int cmp(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b) {
  const std::size_t len = std::max(a.size(), b.size());
  for (std::size_t k = len; k-- > 0;) {
    const std::uint64_t x = k < a.size() ? a[k] : 0;
    const std::uint64_t y = k < b.size() ? b[k] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

double to_double(std::span<const std::uint64_t> a) {
  double r = 0;
  for (std::size_t k = a.size(); k-- > 0;) r = r * 18446744073709551616.0 + static_cast<double>(a[k]);
  return r;
}

}  // namespace

RnsBasis::RnsBasis(std::vector<Modulus> moduli) : moduli_(std::move(moduli)) {
  const std::size_t k = moduli_.size();
  if (k == 0) throw InvalidArgument("RnsBasis: empty basis");
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = i + 1; j < k; ++j)
      if (moduli_[i] == moduli_[j])
        throw InvalidArgument("RnsBasis: duplicate prime " + std::to_string(moduli_[i].value()));
  product_.assign(k, 0);
  product_[0] = 1;
  for (std::size_t i = 0; i < k; ++i) {
    Words p = mul_word(product_, moduli_[i].value());
    std::copy_n(p.begin(), k, product_.begin());
  }
  punct_.assign(k * k, 0);
  inv_punct_.resize(k);
  for (std::size_t i = 0; i < k; ++i) {
    Words p(k, 0);
    p[0] = 1;
    std::uint64_t mod_qi = 1;
    for (std::size_t j = 0; j < k; ++j) {
      if (j == i) continue;
      Words t = mul_word(p, moduli_[j].value());
      std::copy_n(t.begin(), k, p.begin());
      mod_qi = mul_mod(mod_qi, moduli_[i].reduce(moduli_[j].value()), moduli_[i]);
    }
    std::copy(p.begin(), p.end(), punct_.begin() + static_cast<std::ptrdiff_t>(i * k));
    inv_punct_[i] = make_shoup(inv_mod(mod_qi, moduli_[i]), moduli_[i]);
  }
}

double RnsBasis::compose_centered(std::span<const std::uint64_t> residues) const {
  const std::size_t k = size();
  Words x(k + 1, 0);
  long double v_est = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const std::uint64_t y = mul_shoup(residues[i], inv_punct_[i], moduli_[i].value());
    add_in(x, mul_word(punctured(i), y));
    v_est += static_cast<long double>(y) / static_cast<long double>(moduli_[i].value());
  }
  // x = sum y_i Q/q_i < k Q; subtract floor(sum y_i/q_i) * Q (the estimate may be one too big).
  std::uint64_t v = static_cast<std::uint64_t>(std::floor(v_est));
  Words vq = mul_word(product_, v);
  if (cmp(x, vq) < 0) vq = mul_word(product_, v - 1);
  sub_in(x, vq);
  while (cmp(x, product_) >= 0) sub_in(x, product_);
  // Centre: x > Q/2 <=> 2x > Q.
  Words twice = x;
  add_in(twice, x);
  if (cmp(twice, product_) > 0) {
    Words neg(product_.begin(), product_.end());
    neg.push_back(0);
    sub_in(neg, x);
    return -to_double(neg);
  }
  return to_double(x);
}

BaseConverter::BaseConverter(RnsBasis in, std::vector<Modulus> out) : in_(std::move(in)), out_(std::move(out)) {
  const std::size_t k = in_.size();
  punct_mod_out_.resize(out_.size() * k);
  for (std::size_t j = 0; j < out_.size(); ++j) {
    for (std::size_t i = 0; i < k; ++i) {
      std::uint64_t r = 1;
      for (std::size_t l = 0; l < k; ++l)
        if (l != i) r = mul_mod(r, out_[j].reduce(in_[l].value()), out_[j]);
      punct_mod_out_[j * k + i] = r;
    }
    std::uint64_t prod = 1;
    for (std::size_t l = 0; l < k; ++l) prod = mul_mod(prod, out_[j].reduce(in_[l].value()), out_[j]);
    q_mod_out_.push_back(prod);
  }
  for (std::size_t i = 0; i < k; ++i) inv_in_.push_back(1.0 / static_cast<double>(in_[i].value()));
  // 52-bit path: output below 2^50, and the high halves must sum below 2^52: a product of two
  // values below 2^50 has a high half below 2^48 (weight 1), a split big input's low part times a
  // constant below 2^102 (weight 4), the centring term one more. Where the next term would pass
  // that (5 special primes of 60 bits in ModDown weigh 21), the running sum is reduced mod the
  // output first (reduce_before_) and goes on as one term below 2^50: exact either way.
  std::size_t weight = 1, terms = 1;
  for (std::size_t i = 0; i < k; ++i) {
    const bool big = in_[i].value() >= (std::uint64_t{1} << 50);
    in_big_.push_back(big ? 1 : 0);
    const std::size_t w = big ? 4 : 1, t = big ? 2 : 1;
    const bool reduce = weight + w > 15 || terms + t > 16;
    reduce_before_.push_back(reduce ? 1 : 0);
    if (reduce) {
      weight = 1;
      terms = 2;
    }
    weight += w;
    terms += t;
  }
  punct_hi_.resize(out_.size() * k);
  for (std::size_t j = 0; j < out_.size(); ++j) {
    const std::uint64_t two52 = out_[j].reduce(std::uint64_t{1} << 52);
    for (std::size_t i = 0; i < k; ++i) punct_hi_[j * k + i] = mul_mod(punct_mod_out_[j * k + i], two52, out_[j]);
    out_ifma_.push_back(out_[j].value() < (std::uint64_t{1} << 50) ? 1 : 0);
  }
}

void BaseConverter::prepare_limb(std::size_t i, const std::uint64_t* x, std::uint64_t* scratch, std::size_t n) const {
  const ShoupOperand w = in_.inv_punctured(i);
  const std::uint64_t q = in_[i].value();
  std::uint64_t* y = scratch + i * n;
  for (std::size_t c = 0; c < n; ++c) y[c] = mul_shoup(x[c], w, q);
}

// out = sum_i y_i c_i (+ u * extra) mod p, products accumulated in 128 bits (each < 2^122, so 8
// of them fit with room) and reduced once per 8 terms.
namespace {
template <bool kCentred>
void dot_reduce(const std::uint64_t* scratch, const std::uint64_t* consts, std::size_t k, const std::uint64_t* u,
                std::uint64_t extra, const Modulus& p, std::uint64_t* dst, std::size_t n) {
  constexpr std::size_t kBlock = 8;
  if (k <= kBlock - 1) {
    for (std::size_t c = 0; c < n; ++c) {
      unsigned __int128 acc = 0;
      for (std::size_t i = 0; i < k; ++i) acc += static_cast<unsigned __int128>(scratch[i * n + c]) * consts[i];
      if constexpr (kCentred) acc += static_cast<unsigned __int128>(u[c]) * extra;
      dst[c] = p.reduce128(acc);
    }
    return;
  }
  for (std::size_t c = 0; c < n; ++c) {
    unsigned __int128 acc = 0;
    std::size_t i = 0;
    while (i < k) {
      const std::size_t stop = std::min(k, i + kBlock);
      for (; i < stop; ++i) acc += static_cast<unsigned __int128>(scratch[i * n + c]) * consts[i];
      acc = p.reduce128(acc);
    }
    if constexpr (kCentred) acc += static_cast<unsigned __int128>(u[c]) * extra;
    dst[c] = p.reduce128(acc);
  }
}

#ifdef CU_HAVE_IFMA
template <bool kCentred>
void dot_reduce52(const std::uint64_t* scratch, const std::uint64_t* consts, const std::uint64_t* consts_hi,
                  const std::uint8_t* big, const std::uint8_t* reduce_before, std::size_t k, const std::uint64_t* u,
                  std::uint64_t extra, std::uint64_t p, std::uint64_t* dst, std::size_t n) {
  const simd52::Reducer red(p);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i mask52 = simd52::set1((std::uint64_t{1} << 52) - 1);
  for (std::size_t c = 0; c < n; c += 8) {
    __m512i lo = zero, hi = zero;
    for (std::size_t i = 0; i < k; ++i) {
      if (reduce_before[i]) {
        lo = red.reduce(lo, hi);
        hi = zero;
      }
      __m512i y = _mm512_loadu_si512(scratch + i * n + c);
      if (big[i]) {
        const __m512i yh = _mm512_srli_epi64(y, 52);
        const __m512i ch = simd52::set1(consts_hi[i]);
        y = _mm512_and_si512(y, mask52);
        lo = _mm512_madd52lo_epu64(lo, yh, ch);
        hi = _mm512_madd52hi_epu64(hi, yh, ch);
      }
      const __m512i ci = simd52::set1(consts[i]);
      lo = _mm512_madd52lo_epu64(lo, y, ci);
      hi = _mm512_madd52hi_epu64(hi, y, ci);
    }
    if constexpr (kCentred) {
      const __m512i vu = _mm512_loadu_si512(u + c);
      const __m512i e = simd52::set1(extra);
      lo = _mm512_madd52lo_epu64(lo, vu, e);
      hi = _mm512_madd52hi_epu64(hi, vu, e);
    }
    _mm512_storeu_si512(dst + c, red.reduce(lo, hi));
  }
}
#endif

}  // namespace

void BaseConverter::convert_one(const std::uint64_t* scratch, std::size_t j, std::uint64_t* dst, std::size_t n) const {
#ifdef CU_HAVE_IFMA
  if (out_ifma_[j] && n % 8 == 0) {
    dot_reduce52<false>(scratch, punct_mod_out_.data() + j * in_.size(), punct_hi_.data() + j * in_.size(),
                        in_big_.data(), reduce_before_.data(), in_.size(), nullptr, 0, out_[j].value(), dst, n);
    return;
  }
#endif
  dot_reduce<false>(scratch, punct_mod_out_.data() + j * in_.size(), in_.size(), nullptr, 0, out_[j], dst, n);
}

void BaseConverter::centred_overflow(const std::uint64_t* scratch, std::uint64_t* u, std::size_t n) const {
  centred_overflow(scratch, u, n, 0, n);
}

void BaseConverter::centred_overflow(const std::uint64_t* scratch, std::uint64_t* u, std::size_t n, std::size_t lo,
                                     std::size_t hi) const {
  const std::size_t k = in_.size();
  for (std::size_t c = lo; c < hi; ++c) {
    double v = 0;
    for (std::size_t i = 0; i < k; ++i) v += static_cast<double>(scratch[i * n + c]) * inv_in_[i];
    u[c] = static_cast<std::uint64_t>(v + 0.5);
  }
}

void BaseConverter::convert_one_centred(const std::uint64_t* scratch, const std::uint64_t* u, std::size_t j,
                                        std::uint64_t* dst, std::size_t n) const {
  // - u Q = + u (p - Q mod p) (mod p), folded into the same accumulator.
  const std::uint64_t neg_q = neg_mod(q_mod_out_[j], out_[j].value());
#ifdef CU_HAVE_IFMA
  if (out_ifma_[j] && n % 8 == 0) {
    dot_reduce52<true>(scratch, punct_mod_out_.data() + j * in_.size(), punct_hi_.data() + j * in_.size(),
                       in_big_.data(), reduce_before_.data(), in_.size(), u, neg_q, out_[j].value(), dst, n);
    return;
  }
#endif
  dot_reduce<true>(scratch, punct_mod_out_.data() + j * in_.size(), in_.size(), u, neg_q, out_[j], dst, n);
}

void BaseConverter::convert(const std::uint64_t* const* in, std::uint64_t* const* out,
                            std::span<const std::size_t> out_indices, std::size_t n, std::uint64_t* scratch,
                            ThreadPool* pool) const {
  const std::size_t k = in_.size();
  auto first = [&](std::size_t i) { prepare_limb(i, in[i], scratch, n); };
  auto second = [&](std::size_t o) { convert_one(scratch, out_indices[o], out[o], n); };
  if (pool) {
    pool->parallel_for(0, k, first);
    pool->parallel_for(0, out_indices.size(), second);
  } else {
    for (std::size_t i = 0; i < k; ++i) first(i);
    for (std::size_t o = 0; o < out_indices.size(); ++o) second(o);
  }
}

}  // namespace cryptounet::math
