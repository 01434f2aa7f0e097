// Rescaling and level dropping.
#include <algorithm>
#include <string>
#include <vector>

#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/poly_kernels.h"

namespace cryptounet::ckks {

// round(c / q_l) on every part: with a_l = c mod q_l in coefficients (plus q_l/2 so that the
// floor becomes a rounding), limb i becomes (c_i - NTT(a_l mod q_i - (q_l/2 mod q_i))) * q_l^-1.
void Evaluator::rescale_inplace(Ciphertext& a) const {
  check_ct("rescale", a);
  if (a.level() == 0) throw InvalidArgument("rescale: ciphertext is at level 0");
  const std::size_t n = ctx_->n(), l = static_cast<std::size_t>(a.level());
  const math::Modulus& ql = ctx_->modulus(l);
  const std::uint64_t half = ql.value() >> 1;
  auto& parts = a.parts();
  const std::size_t np = parts.size();
  std::vector<std::vector<std::uint64_t>> last(np, std::vector<std::uint64_t>(n));
  ctx_->pool().parallel_for(0, np, [&](std::size_t p) {
    std::copy_n(parts[p].limb(l), n, last[p].data());
    math::ntt_inverse(last[p].data(), ctx_->ntt(l));
    math::kernels::add_scalar(last[p].data(), half, last[p].data(), n, ql);
  });
  ctx_->pool().parallel_for(0, np * l, [&](std::size_t task) {
    const std::size_t p = task / l, i = task % l;
    const math::Modulus& qi = ctx_->modulus(i);
    const std::uint64_t qv = qi.value();
    const std::uint64_t half_i = qi.reduce(half);
    math::RnsPoly tmp_buf(n, 1);
    std::uint64_t* tmp = tmp_buf.data();
    const std::uint64_t* src = last[p].data();
    for (std::size_t c = 0; c < n; ++c) {
      const std::uint64_t r = qi.reduce(src[c]);
      tmp[c] = math::sub_mod(r, half_i, qv);
    }
    math::ntt_forward(tmp, ctx_->ntt(i));
    const math::ShoupOperand inv = ctx_->q_inv_mod_q(l, i);
    std::uint64_t* d = parts[p].limb(i);
    for (std::size_t c = 0; c < n; ++c) d[c] = math::mul_shoup(d[c] + qv - tmp[c], inv, qv);
  });
  for (auto& p : parts) p.truncate(l);
  a.set_scale(a.scale() / static_cast<double>(ql.value()));
}

Ciphertext Evaluator::rescale(const Ciphertext& a) const {
  Ciphertext r = a;
  rescale_inplace(r);
  return r;
}

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
