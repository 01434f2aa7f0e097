#include "keyswitch.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "cryptounet/common/error.h"

#include "cryptounet/math/poly_kernels.h"
#include "limb_tasks.h"

namespace cryptounet::ckks::detail {
namespace {

// Coefficients per task of the centred-overflow passes (independent per coefficient).
constexpr std::size_t kOverflowChunk = 4096;

std::size_t digits_at(const Context& ctx, std::size_t limbs) {
  int d = 0;
  while (d < ctx.dnum() && ctx.digit_begin(d) < limbs) ++d;
  return static_cast<std::size_t>(d);
}

}  // namespace

std::vector<math::RnsPoly> mod_up(const Context& ctx, const math::RnsPoly& c) {
  const std::size_t n = ctx.n(), l1 = c.limbs(), k = ctx.p_count(), nq = ctx.q_count();
  const std::size_t ext = l1 + k;
  const std::size_t d = digits_at(ctx, l1);
  const std::size_t alpha = static_cast<std::size_t>(ctx.params().digit_size());
  // Phase 1, per limb: inverse NTT and the first step of the digit's base conversion, in place.
  math::RnsPoly y(n, l1);
  ctx.pool().parallel_for(0, l1, [&](std::size_t t) {
    std::memcpy(y.limb(t), c.limb(t), n * sizeof(std::uint64_t));
    math::ntt_inverse(y.limb(t), ctx.ntt(t));
    const int j = static_cast<int>(t / alpha);
    const std::size_t b = ctx.digit_begin(j), e = std::min(ctx.digit_end(j), l1);
    ctx.mod_up_converter(j, e - b).prepare_limb(t - b, y.limb(t), y.limb(b), n);
  });
  // Centred digits ([c]_{Q_j} in [-Q_j/2, Q_j/2), extended exactly): an uncentred digit has mean
  // Q_j/2, and Q_j/2 * e_j / P is a low-frequency error that concentrates in a few slots.
  // Over coefficient ranges of every digit (d digits alone leave a thread idle when d is odd).
  std::vector<std::vector<std::uint64_t>> u(d, std::vector<std::uint64_t>(n));
  const std::size_t chunk = std::min(n, kOverflowChunk), chunks = (n + chunk - 1) / chunk;
  ctx.pool().parallel_for(0, d * chunks, [&](std::size_t task) {
    const int j = static_cast<int>(task / chunks);
    const std::size_t lo = (task % chunks) * chunk;
    const std::size_t b = ctx.digit_begin(j), e = std::min(ctx.digit_end(j), l1);
    ctx.mod_up_converter(j, e - b).centred_overflow(y.limb(b), u[static_cast<std::size_t>(j)].data(), n, lo,
                                                    std::min(n, lo + chunk));
  });
  std::vector<math::RnsPoly> digits;
  digits.reserve(d);
  for (std::size_t j = 0; j < d; ++j) digits.emplace_back(n, ext);
  // Phase 2, per (digit, output limb): finish the conversion and NTT; own limbs are copied.
  struct Task {
    std::uint32_t digit;
    std::uint32_t limb;
  };
  std::vector<Task> tasks;
  tasks.reserve(d * ext);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t t = 0; t < ext; ++t) tasks.push_back({static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(t)});
  ctx.pool().parallel_for(0, tasks.size(), [&](std::size_t i) {
    const int j = static_cast<int>(tasks[i].digit);
    const std::size_t t = tasks[i].limb;
    const std::size_t b = ctx.digit_begin(j), e = std::min(ctx.digit_end(j), l1);
    std::uint64_t* dst = digits[static_cast<std::size_t>(j)].limb(t);
    if (t >= b && t < e) {
      std::memcpy(dst, c.limb(t), n * sizeof(std::uint64_t));
      return;
    }
    const std::size_t qp = t < l1 ? t : nq + (t - l1);
    ctx.mod_up_converter(j, e - b).convert_one_centred(y.limb(b), u[static_cast<std::size_t>(j)].data(), qp, dst, n);
    math::ntt_forward(dst, ctx.ntt(qp));
  });
  return digits;
}

void inner_product(const Context& ctx, const std::vector<math::RnsPoly>& digits, const KeySwitchKey& key,
                   const std::uint32_t* perm, math::RnsPoly& acc0, math::RnsPoly& acc1) {
  const std::size_t n = ctx.n(), ext = digits[0].limbs(), k = ctx.p_count(), nq = ctx.q_count();
  const std::size_t l1 = ext - k, d = digits.size();
  acc0 = math::RnsPoly(n, ext);
  acc1 = math::RnsPoly(n, ext);
  detail::parallel_for_limb_ranges(ctx.pool(), ext, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    const std::size_t qp = t < l1 ? t : nq + (t - l1), m = hi - lo;
    std::vector<const std::uint64_t*> a(d), b0(d), b1(d);
    // Permuted digits are copied out first: a scalar permutation is much cheaper than gathering
    // inside the vectorised product (AVX-512 gathers are slow on the CPUs we run on).
    math::RnsPoly permuted = perm ? math::RnsPoly(m, d) : math::RnsPoly();
    for (std::size_t j = 0; j < d; ++j) {
      if (perm) {
        math::kernels::permute(digits[j].limb(t), perm + lo, permuted.limb(j), m);
        a[j] = permuted.limb(j);
      } else {
        a[j] = digits[j].limb(t) + lo;
      }
      b0[j] = key.b[j].limb(qp) + lo;
      b1[j] = key.a[j].limb(qp) + lo;
    }
    math::kernels::dot2(a.data(), b0.data(), b1.data(), d, nullptr, acc0.limb(t) + lo, acc1.limb(t) + lo, m,
                        ctx.modulus(qp));
  });
}

void inner_product_add(const Context& ctx, const std::vector<math::RnsPoly>& digits, const KeySwitchKey& key,
                       math::RnsPoly& acc0, math::RnsPoly& acc1) {
  const std::size_t n = ctx.n(), ext = digits[0].limbs(), k = ctx.p_count(), nq = ctx.q_count();
  const std::size_t l1 = ext - k, d = digits.size();
  detail::parallel_for_limb_ranges(ctx.pool(), ext, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    const std::size_t qp = t < l1 ? t : nq + (t - l1), m = hi - lo;
    const math::Modulus& q = ctx.modulus(qp);
    math::RnsPoly scratch(m, 2);  // this task's two products
    std::vector<const std::uint64_t*> a(d), b0(d), b1(d);
    for (std::size_t j = 0; j < d; ++j) {
      a[j] = digits[j].limb(t) + lo;
      b0[j] = key.b[j].limb(qp) + lo;
      b1[j] = key.a[j].limb(qp) + lo;
    }
    math::kernels::dot2(a.data(), b0.data(), b1.data(), d, nullptr, scratch.limb(0), scratch.limb(1), m, q);
    math::kernels::add(acc0.limb(t) + lo, scratch.limb(0), acc0.limb(t) + lo, m, q);
    math::kernels::add(acc1.limb(t) + lo, scratch.limb(1), acc1.limb(t) + lo, m, q);
  });
}

void inner_product_sum(const Context& ctx, const std::vector<math::RnsPoly>& digits,
                       std::span<const KeySwitchKey* const> keys, std::span<const std::uint32_t* const> perms,
                       const std::uint64_t* weights, math::RnsPoly& acc0, math::RnsPoly& acc1) {
  const std::size_t n = ctx.n(), ext = digits[0].limbs(), k = ctx.p_count(), nq = ctx.q_count();
  const std::size_t l1 = ext - k, d = digits.size(), steps = keys.size();
  acc0 = math::RnsPoly(n, ext);
  acc1 = math::RnsPoly(n, ext);
  detail::parallel_for_limb_ranges(ctx.pool(), ext, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    const std::size_t qp = t < l1 ? t : nq + (t - l1), m = hi - lo;
    const math::Modulus& q = ctx.modulus(qp);
    // Scratch per task: d permuted digits and the two products of one step.
    math::RnsPoly scratch(m, d + 2);
    std::uint64_t *p0 = scratch.limb(d), *p1 = scratch.limb(d + 1);
    std::vector<const std::uint64_t*> a(d), b0(d), b1(d);
    for (std::size_t s = 0; s < steps; ++s) {
      for (std::size_t j = 0; j < d; ++j) {
        math::kernels::permute(digits[j].limb(t), perms[s] + lo, scratch.limb(j), m);
        a[j] = scratch.limb(j);
        b0[j] = keys[s]->b[j].limb(qp) + lo;
        b1[j] = keys[s]->a[j].limb(qp) + lo;
      }
      std::uint64_t *o0 = acc0.limb(t) + lo, *o1 = acc1.limb(t) + lo;
      const bool first = s == 0;
      math::kernels::dot2(a.data(), b0.data(), b1.data(), d, nullptr, first ? o0 : p0, first ? o1 : p1, m, q);
      if (weights) {
        const math::ShoupOperand w = math::make_shoup(weights[s * ext + t], q);
        if (first) {
          math::kernels::mul_scalar(o0, w, o0, m, q);
          math::kernels::mul_scalar(o1, w, o1, m, q);
        } else {
          math::kernels::mul_scalar_add(p0, w, o0, m, q);
          math::kernels::mul_scalar_add(p1, w, o1, m, q);
        }
      } else if (!first) {
        math::kernels::add(o0, p0, o0, m, q);
        math::kernels::add(o1, p1, o1, m, q);
      }
    }
  });
}

namespace {

void mod_down_halves(const Context& ctx, std::span<const ModDownHalf> halves) {
  const std::size_t m = halves.size();
  const std::size_t n = ctx.n(), k = ctx.p_count(), l1 = halves[0].acc->limbs() - k;
  const std::size_t nq = ctx.q_count();
  for (const ModDownHalf& h : halves)
    if (h.acc->limbs() != l1 + k) throw InvalidArgument("mod_down: halves with different limb counts");
  const math::BaseConverter& conv = ctx.mod_down_converter();
  std::vector<math::RnsPoly> y;
  y.reserve(m);
  for (std::size_t h = 0; h < m; ++h) y.emplace_back(n, k);
  ctx.pool().parallel_for(0, m * k, [&](std::size_t task) {
    const std::size_t h = task / k, i = task % k;
    std::memcpy(y[h].limb(i), halves[h].acc->limb(l1 + i), n * sizeof(std::uint64_t));
    math::ntt_inverse(y[h].limb(i), ctx.ntt(nq + i));
    conv.prepare_limb(i, y[h].limb(i), y[h].data(), n);
  });
  // Exact centred conversion: ModDown then rounds (acc / P) without bias.
  std::vector<std::uint64_t> u(m * n);
  const std::size_t chunk = std::min(n, kOverflowChunk), chunks = (n + chunk - 1) / chunk;
  ctx.pool().parallel_for(0, m * chunks, [&](std::size_t task) {
    const std::size_t h = task / chunks, lo = (task % chunks) * chunk;
    conv.centred_overflow(y[h].data(), u.data() + h * n, n, lo, std::min(n, lo + chunk));
  });
  for (const ModDownHalf& h : halves)
    if (!h.accumulate) *h.out = math::RnsPoly(n, l1);
  ctx.pool().parallel_for(0, m * l1, [&](std::size_t task) {
    const std::size_t h = task / l1, i = task % l1;
    const math::Modulus& q = ctx.modulus(i);
    math::RnsPoly tmp_buf(n, 1);
    std::uint64_t* tmp = tmp_buf.data();
    conv.convert_one_centred(y[h].data(), u.data() + h * n, i, tmp, n);
    math::ntt_forward(tmp, ctx.ntt(i));
    const math::ShoupOperand pinv = ctx.p_inv_mod_q(i);
    const std::uint64_t qv = q.value();
    const std::uint64_t* a = halves[h].acc->limb(i);
    std::uint64_t* o = halves[h].out->limb(i);
    if (halves[h].accumulate) {
      for (std::size_t c = 0; c < n; ++c) {
        const std::uint64_t v = math::mul_shoup(a[c] + qv - tmp[c], pinv, qv);
        o[c] = math::add_mod(o[c], v, qv);
      }
    } else {
      for (std::size_t c = 0; c < n; ++c) o[c] = math::mul_shoup(a[c] + qv - tmp[c], pinv, qv);
    }
  });
}

}  // namespace

void mod_down(const Context& ctx, const math::RnsPoly& acc, math::RnsPoly& out, bool accumulate) {
  const ModDownHalf h[1] = {{&acc, &out, accumulate}};
  mod_down_halves(ctx, h);
}

void mod_down_many(const Context& ctx, std::span<const ModDownHalf> halves) {
  for (std::size_t a = 0; a < halves.size(); ++a)
    for (std::size_t b = a + 1; b < halves.size(); ++b)
      if (halves[a].out == halves[b].out) throw InvalidArgument("mod_down_many: one output for two halves");
  if (!halves.empty()) mod_down_halves(ctx, halves);
}

void mod_down_pair(const Context& ctx, const math::RnsPoly& acc0, math::RnsPoly& out0, bool accumulate0,
                   const math::RnsPoly& acc1, math::RnsPoly& out1, bool accumulate1) {
  const ModDownHalf h[2] = {{&acc0, &out0, accumulate0}, {&acc1, &out1, accumulate1}};
  mod_down_many(ctx, h);
}

std::pair<math::RnsPoly, math::RnsPoly> key_switch(const Context& ctx, const math::RnsPoly& c, const KeySwitchKey& key) {
  const auto digits = mod_up(ctx, c);
  math::RnsPoly acc0, acc1;
  inner_product(ctx, digits, key, nullptr, acc0, acc1);
  math::RnsPoly r0, r1;
  mod_down_pair(ctx, acc0, r0, false, acc1, r1, false);
  return {std::move(r0), std::move(r1)};
}

}  // namespace cryptounet::ckks::detail
