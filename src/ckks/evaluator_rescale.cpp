// Rescaling and level dropping.
#include <algorithm>
#include <string>
#include <vector>

#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/poly_kernels.h"

namespace cryptounet::ckks {

// round(c / q_l) on every part, with a_l = (c mod q_l) + floor(q_l/2) in coefficients (the added
// half turns the floor into a rounding): limb i becomes (c_i - NTT(a_l - (q_l/2 mod q_i))) q_l^-1
// mod q_i. Per part: one inverse NTT of the last limb; per remaining limb, the output limb itself
// receives a_l + q_i - (q_l/2 mod q_i) (below 4 q_i, a valid lazy NTT input, when q_l <= 3 q_i;
// otherwise a_l is reduced first), is transformed in place and finished by one fused pass
// (c_i - t) q_l^-1. No scratch beyond the coefficient copies of the last limbs.
Ciphertext Evaluator::rescale(const Ciphertext& a) const {
  check_ct("rescale", a);
  if (a.level() == 0) throw InvalidArgument("rescale: ciphertext is at level 0");
  const std::size_t n = ctx_->n(), l = static_cast<std::size_t>(a.level());
  const math::Modulus& ql = ctx_->modulus(l);
  const std::uint64_t half = ql.value() >> 1;
  const std::size_t np = a.size();
  math::RnsPoly last(n, np);
  ctx_->pool().parallel_for(0, np, [&](std::size_t p) {
    std::copy_n(a.part(p).limb(l), n, last.limb(p));
    math::ntt_inverse(last.limb(p), ctx_->ntt(l));
    math::kernels::add_scalar(last.limb(p), half, last.limb(p), n, ql);
  });
  std::vector<math::RnsPoly> parts;
  parts.reserve(np);
  for (std::size_t p = 0; p < np; ++p) parts.emplace_back(n, l);
  ctx_->pool().parallel_for(0, np * l, [&](std::size_t task) {
    const std::size_t p = task / l, i = task % l;
    const math::Modulus& qi = ctx_->modulus(i);
    std::uint64_t* d = parts[p].limb(i);
    const std::uint64_t off = qi.value() - qi.reduce(half);  // -half mod q_i, in (0, q_i]
    const std::uint64_t* src = last.limb(p);
    if (ql.value() <= 3 * qi.value()) {
      for (std::size_t c = 0; c < n; ++c) d[c] = src[c] + off;  // < 4 q_i
    } else {
      math::kernels::reduce(src, d, n, qi);
      for (std::size_t c = 0; c < n; ++c) d[c] += off;  // < 2 q_i
    }
    math::ntt_forward_lazy(d, ctx_->ntt(i));
    math::kernels::sub_lazy_add_mul_scalar(a.part(p).limb(i), d, 0, ctx_->q_inv_mod_q(l, i), d, n, qi);
  });
  return Ciphertext(std::move(parts), a.scale() / static_cast<double>(ql.value()), a.fingerprint());
}

void Evaluator::rescale_inplace(Ciphertext& a) const { a = rescale(a); }

void Evaluator::drop_level_inplace(Ciphertext& a, int level) const {
  check_ct("drop_level", a);
  if (level < 0 || level > a.level())
    throw InvalidArgument("drop_level: target level " + std::to_string(level) + " outside [0, " + std::to_string(a.level()) + "]");
  for (auto& p : a.parts()) p.truncate(static_cast<std::size_t>(level) + 1);
}

Ciphertext Evaluator::drop_level(const Ciphertext& a, int level) const {
  check_ct("drop_level", a);
  if (level < 0 || level > a.level())
    throw InvalidArgument("drop_level: target level " + std::to_string(level) + " outside [0, " + std::to_string(a.level()) + "]");
  std::vector<math::RnsPoly> parts;
  for (const auto& p : a.parts()) parts.push_back(p.prefix(static_cast<std::size_t>(level) + 1));
  return Ciphertext(std::move(parts), a.scale(), a.fingerprint());
}

Plaintext Evaluator::drop_level(const Plaintext& a, int level) const {
  if (a.fingerprint() != ctx_->fingerprint()) throw InvalidArgument("drop_level: plaintext belongs to other parameters");
  if (level < 0 || level > a.level())
    throw InvalidArgument("drop_level: target level " + std::to_string(level) + " outside [0, " + std::to_string(a.level()) + "]");
  return Plaintext(a.poly().prefix(static_cast<std::size_t>(level) + 1), a.scale(), a.fingerprint());
}

}  // namespace cryptounet::ckks
