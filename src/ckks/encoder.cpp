#include "cryptounet/ckks/encoder.h"

#include <bit>
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "cryptounet/common/bit_reverse.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/modarith.h"
#include "cryptounet/math/parallel.h"
#include "cryptounet/math/poly_kernels.h"

namespace cryptounet::ckks {
namespace {

std::uint64_t from_i128(__int128 x, const math::Modulus& q) {
  const bool neg = x < 0;
  const unsigned __int128 u = neg ? static_cast<unsigned __int128>(-(x + 1)) + 1 : static_cast<unsigned __int128>(x);
  const std::uint64_t r = q.reduce128(u);
  return (neg && r) ? q.value() - r : r;
}

}  // namespace

Encoder::Encoder(std::shared_ptr<const Context> ctx) : ctx_(std::move(ctx)) {
  if (!ctx_) throw InvalidArgument("Encoder: null context");
  const std::size_t n = ctx_->n();
  const std::size_t m = 2 * n;
  slots_ = n / 2;
  std::vector<std::size_t> rot_group(slots_);
  std::size_t g = 1;
  for (std::size_t j = 0; j < slots_; ++j) {
    rot_group[j] = g;
    g = (g * 5) % m;
  }
  auto ksi = [&](std::size_t k) {
    const long double angle = 2.0L * std::numbers::pi_v<long double> * static_cast<long double>(k) / static_cast<long double>(m);
    return std::complex<double>(static_cast<double>(std::cos(angle)), static_cast<double>(std::sin(angle)));
  };
  tw_fwd_.assign(std::max<std::size_t>(slots_, 2), {0, 0});
  tw_inv_.assign(std::max<std::size_t>(slots_, 2), {0, 0});
  for (std::size_t lenh = 1; lenh < slots_; lenh <<= 1) {
    const std::size_t lenq = lenh << 3, gap = m / lenq;
    for (std::size_t j = 0; j < lenh; ++j) {
      tw_fwd_[lenh + j] = ksi((rot_group[j] % lenq) * gap);
      tw_inv_[lenh + j] = ksi(((lenq - (rot_group[j] % lenq)) % lenq) * gap);
    }
  }
  const int bits = std::countr_zero(slots_);
  bitrev_.resize(slots_);
  for (std::size_t i = 0; i < slots_; ++i) bitrev_[i] = bit_reverse(i, bits);
}

namespace {
// Plain complex product (std::complex's operator* checks for NaN/inf and is not vectorised).
inline void cmul(double ar, double ai, double br, double bi, double& r, double& i) {
  r = ar * br - ai * bi;
  i = ar * bi + ai * br;
}
}  // namespace

namespace {
// Butterflies j in [j0, j1) of the inverse-FFT block at d + 2i of length len.
inline void inv_butterflies(double* d, std::size_t i, std::size_t len, std::size_t j0, std::size_t j1,
                            const std::complex<double>* tw) {
  const std::size_t lenh = len >> 1;
  double* x = d + 2 * i;
  double* y = d + 2 * (i + lenh);
  for (std::size_t j = j0; j < j1; ++j) {
    const double ur = x[2 * j] + y[2 * j], ui = x[2 * j + 1] + y[2 * j + 1];
    const double dr = x[2 * j] - y[2 * j], di = x[2 * j + 1] - y[2 * j + 1];
    x[2 * j] = ur;
    x[2 * j + 1] = ui;
    cmul(dr, di, tw[j].real(), tw[j].imag(), y[2 * j], y[2 * j + 1]);
  }
}
}  // namespace

// HEAAN's fftSpecialInv: evaluations at the rotation-group roots -> coefficients, then 1/slots.
// On the context's pool: the first kSplitStages stages split over chunks of butterflies, after
// which the 2^kSplitStages blocks are independent and finish in parallel. Every value goes
// through the same operations in the same order as a serial run, so the words are the same.
void Encoder::fft_inverse(std::complex<double>* v) const {
  constexpr std::size_t kSplitStages = 2, kChunk = 1024;
  const std::size_t size = slots_;
  double* d = reinterpret_cast<double*>(v);
  const double inv = 1.0 / static_cast<double>(size);
  math::ThreadPool& pool = ctx_->pool();
  const std::size_t blocks = size >= (kChunk << kSplitStages) ? std::size_t{1} << kSplitStages : 1;
  std::size_t len = size;
  for (; len >= 2 && size / len < blocks; len >>= 1) {
    const std::size_t lenh = len >> 1, chunk = std::min(lenh, kChunk);
    const std::complex<double>* tw = tw_inv_.data() + lenh;
    pool.parallel_for(0, size / 2 / chunk, [&](std::size_t t) {
      const std::size_t b0 = t * chunk, i = b0 / lenh * len, j0 = b0 % lenh;
      inv_butterflies(d, i, len, j0, j0 + chunk, tw);
    });
  }
  const std::size_t block = size / blocks;
  pool.parallel_for(0, blocks, [&](std::size_t bk) {
    const std::size_t begin = bk * block;
    for (std::size_t l = len; l >= 2; l >>= 1) {
      const std::complex<double>* tw = tw_inv_.data() + (l >> 1);
      for (std::size_t i = begin; i < begin + block; i += l) inv_butterflies(d, i, l, 0, l >> 1, tw);
    }
    for (std::size_t i = 2 * begin; i < 2 * (begin + block); ++i) d[i] *= inv;
  });
  // Each swap pair (i, bitrev(i)) is handled by its smaller index only: ranges are independent.
  pool.parallel_for(0, blocks, [&](std::size_t bk) {
    for (std::size_t i = bk * block; i < (bk + 1) * block; ++i)
      if (i < bitrev_[i]) std::swap(v[i], v[bitrev_[i]]);
  });
}

// HEAAN's fftSpecial: coefficients -> evaluations at the rotation-group roots.
void Encoder::fft_forward(std::complex<double>* v) const {
  const std::size_t size = slots_;
  for (std::size_t i = 0; i < size; ++i)
    if (i < bitrev_[i]) std::swap(v[i], v[bitrev_[i]]);
  double* d = reinterpret_cast<double*>(v);
  for (std::size_t len = 2; len <= size; len <<= 1) {
    const std::size_t lenh = len >> 1;
    const std::complex<double>* tw = tw_fwd_.data() + lenh;
    for (std::size_t i = 0; i < size; i += len) {
      double* x = d + 2 * i;
      double* y = d + 2 * (i + lenh);
      for (std::size_t j = 0; j < lenh; ++j) {
        double wr, wi;
        cmul(y[2 * j], y[2 * j + 1], tw[j].real(), tw[j].imag(), wr, wi);
        const double ur = x[2 * j], ui = x[2 * j + 1];
        x[2 * j] = ur + wr;
        x[2 * j + 1] = ui + wi;
        y[2 * j] = ur - wr;
        y[2 * j + 1] = ui - wi;
      }
    }
  }
}

Plaintext Encoder::encode(std::span<const double> values, int level, double scale) const {
  if (values.size() > slots_)
    throw InvalidArgument("encode: " + std::to_string(values.size()) + " values exceed " + std::to_string(slots_) + " slots");
  std::vector<std::complex<double>> v(slots_);
  for (std::size_t i = 0; i < values.size(); ++i) v[i] = values[i];
  return encode_coeffs(v, level, scale);
}

Plaintext Encoder::encode(std::span<const std::complex<double>> values, int level, double scale) const {
  if (values.size() > slots_)
    throw InvalidArgument("encode: " + std::to_string(values.size()) + " values exceed " + std::to_string(slots_) + " slots");
  std::vector<std::complex<double>> v(slots_);
  std::copy(values.begin(), values.end(), v.begin());
  return encode_coeffs(v, level, scale);
}

Plaintext Encoder::encode_coeffs(const std::vector<std::complex<double>>& values, int level, double scale) const {
  if (level < 0 || level > ctx_->max_level())
    throw InvalidArgument("encode: level " + std::to_string(level) + " outside [0, " + std::to_string(ctx_->max_level()) + "]");
  if (!(scale > 0) || !std::isfinite(scale)) throw InvalidArgument("encode: scale " + std::to_string(scale) + " is not positive and finite");
  for (const auto& z : values)
    if (!std::isfinite(z.real()) || !std::isfinite(z.imag())) throw InvalidArgument("encode: a value is not finite");
  std::vector<std::complex<double>> v = values;
  fft_inverse(v.data());
  const std::size_t n = ctx_->n(), h = n / 2;
  const std::size_t limbs = static_cast<std::size_t>(level) + 1;
  // Scaled, rounded coefficients: int64 when they fit (the usual case), else 128-bit.
  double max_abs = 0;
  for (std::size_t i = 0; i < h; ++i)
    max_abs = std::max({max_abs, std::fabs(v[i].real() * scale), std::fabs(v[i].imag() * scale)});
  if (!(max_abs < 0x1p126)) throw InvalidArgument("encode: a scaled coefficient reaches 2^126 (values too large for the scale)");
  const bool big = max_abs >= 0x1p62;
  std::vector<std::int64_t> small;
  std::vector<long double> scaled;
  if (big) {
    scaled.resize(n);
    for (std::size_t i = 0; i < h; ++i) {
      scaled[i] = std::round(static_cast<long double>(v[i].real()) * scale);
      scaled[i + h] = std::round(static_cast<long double>(v[i].imag()) * scale);
    }
  } else {
    small.resize(n);
    for (std::size_t i = 0; i < h; ++i) {
      small[i] = std::llrint(v[i].real() * scale);
      small[i + h] = std::llrint(v[i].imag() * scale);
    }
  }
  math::RnsPoly poly(n, limbs);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    std::uint64_t* dst = poly.limb(t);
    if (big) {
      for (std::size_t i = 0; i < n; ++i) dst[i] = from_i128(static_cast<__int128>(scaled[i]), q);
    } else if (max_abs < 0x1p52) {
      math::kernels::reduce_signed52(small.data(), dst, n, q);
    } else {
      for (std::size_t i = 0; i < n; ++i) dst[i] = math::from_signed(small[i], q);
    }
    math::ntt_forward(dst, ctx_->ntt(t));
  });
  return Plaintext(std::move(poly), scale, ctx_->fingerprint());
}

std::vector<std::complex<double>> Encoder::decode(const Plaintext& pt) const {
  if (pt.level() < 0) throw InvalidArgument("decode: empty plaintext");
  if (pt.fingerprint() != ctx_->fingerprint()) throw InvalidArgument("decode: plaintext belongs to other parameters");
  if (pt.level() > ctx_->max_level() || pt.poly().limbs() != static_cast<std::size_t>(pt.level()) + 1 ||
      pt.poly().n() != ctx_->n())
    throw InvalidArgument("decode: plaintext shape does not match the parameters");
  // The scale drives how many limbs are composed below: refuse what no evaluation produces
  // (the readers refuse it too; see scale_in_range).
  if (!scale_in_range(*ctx_, pt.level(), pt.scale()))
    throw InvalidArgument("decode: scale 2^" + std::to_string(std::log2(pt.scale())) + " outside [1, Q*P]");
  const std::size_t n = ctx_->n(), h = n / 2;
  // Fewest limbs (at least one) whose product exceeds scale * 2^50: the centred message is far
  // below that, so the CRT on those limbs alone recovers it exactly.
  const double need = std::log2(pt.scale()) + 50;
  std::size_t limbs = 1;
  double have = std::log2(static_cast<double>(ctx_->modulus(0).value()));
  while (limbs < static_cast<std::size_t>(pt.level()) + 1 && have < need) {
    have += std::log2(static_cast<double>(ctx_->modulus(limbs).value()));
    ++limbs;
  }
  math::RnsPoly c = pt.poly().prefix(limbs);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) { math::ntt_inverse(c.limb(t), ctx_->ntt(t)); });
  std::vector<double> x(n);
  if (limbs == 1) {
    const std::uint64_t q = ctx_->modulus(0).value();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t a = c.limb(0)[i];
      x[i] = a > q / 2 ? -static_cast<double>(q - a) : static_cast<double>(a);
    }
  } else if (limbs == 2) {
    // Garner: x = a0 + q0 * ((a1 - a0) q0^-1 mod q1), then centre in (-q0 q1 / 2, q0 q1 / 2].
    const math::Modulus& m1 = ctx_->modulus(1);
    const std::uint64_t q0 = ctx_->modulus(0).value(), q1 = m1.value();
    const math::ShoupOperand q0inv = math::make_shoup(math::inv_mod(m1.reduce(q0), m1), m1);
    const unsigned __int128 big_q = static_cast<unsigned __int128>(q0) * q1;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t a0 = c.limb(0)[i], a1 = c.limb(1)[i];
      const std::uint64_t d = math::mul_shoup(math::sub_mod(a1, m1.reduce(a0), q1), q0inv, q1);
      const unsigned __int128 v = a0 + static_cast<unsigned __int128>(q0) * d;
      x[i] = v > big_q / 2 ? -static_cast<double>(static_cast<long double>(big_q - v))
                           : static_cast<double>(static_cast<long double>(v));
    }
  } else {
    const math::RnsBasis& basis = ctx_->q_basis(static_cast<int>(limbs) - 1);
    std::vector<std::uint64_t> res(limbs);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t t = 0; t < limbs; ++t) res[t] = c.limb(t)[i];
      x[i] = basis.compose_centered(res);
    }
  }
  std::vector<std::complex<double>> v(slots_);
  const double inv = 1.0 / pt.scale();
  for (std::size_t i = 0; i < h; ++i) v[i] = {x[i] * inv, x[i + h] * inv};
  fft_forward(v.data());
  return v;
}

std::vector<double> Encoder::decode_real(const Plaintext& pt) const {
  const auto z = decode(pt);
  std::vector<double> r(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) r[i] = z[i].real();
  return r;
}

}  // namespace cryptounet::ckks
