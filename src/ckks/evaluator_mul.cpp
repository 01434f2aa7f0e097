// Ciphertext products and relinearisation.
#include <string>

#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/poly_kernels.h"
#include "keyswitch.h"

namespace cryptounet::ckks {

Ciphertext Evaluator::mul(const Ciphertext& a, const Ciphertext& b) const {
  check_pair("mul", a, b, false);
  if (a.size() != 2 || b.size() != 2)
    throw InvalidArgument("mul: ciphertext sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                          " (need 2; relinearize first)");
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  std::vector<math::RnsPoly> d;
  for (int i = 0; i < 3; ++i) d.emplace_back(n, limbs);
  const bool square = &a == &b;
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    const std::uint64_t *a0 = a.part(0).limb(t), *a1 = a.part(1).limb(t);
    const std::uint64_t *b0 = b.part(0).limb(t), *b1 = b.part(1).limb(t);
    std::uint64_t *d0 = d[0].limb(t), *d1 = d[1].limb(t), *d2 = d[2].limb(t);
    math::kernels::mul(a0, b0, d0, n, q);
    math::kernels::mul(a1, b1, d2, n, q);
    if (square) {
      math::kernels::mul(a0, a1, d1, n, q);
      math::kernels::add(d1, d1, d1, n, q);
    } else {
      // d1 = a0 b1 + a1 b0 with one reduction.
      for (std::size_t i = 0; i < n; ++i)
        d1[i] = q.reduce128(static_cast<unsigned __int128>(a0[i]) * b1[i] + static_cast<unsigned __int128>(a1[i]) * b0[i]);
    }
  });
  return Ciphertext(std::move(d), a.scale() * b.scale(), ctx_->fingerprint());
}

void Evaluator::mul_inplace(Ciphertext& a, const Ciphertext& b) const { a = mul(a, b); }

void Evaluator::relinearize_inplace(Ciphertext& a) const {
  check_ct("relinearize", a);
  if (a.size() != 3) throw InvalidArgument("relinearize: ciphertext size " + std::to_string(a.size()) + " is not 3");
  if (!keys_ || keys_->relin.empty()) throw InvalidArgument("relinearize: no relinearisation key loaded");
  // Named members, not a structured binding: clang 14 (fuzz build) cannot capture bindings in lambdas.
  auto switched = detail::key_switch(*ctx_, a.part(2), keys_->relin.key);
  auto& r0 = switched.first;
  auto& r1 = switched.second;
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = a.parts();
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    math::kernels::add(parts[0].limb(t), r0.limb(t), parts[0].limb(t), n, ctx_->modulus(t));
    math::kernels::add(parts[1].limb(t), r1.limb(t), parts[1].limb(t), n, ctx_->modulus(t));
  });
  parts.pop_back();
}

Ciphertext Evaluator::relinearize(const Ciphertext& a) const {
  Ciphertext r = a;
  relinearize_inplace(r);
  return r;
}

Ciphertext Evaluator::mul_relin(const Ciphertext& a, const Ciphertext& b) const {
  if (!keys_ || keys_->relin.empty()) throw InvalidArgument("mul_relin: no relinearisation key loaded");
  Ciphertext r = mul(a, b);
  relinearize_inplace(r);
  return r;
}

void Evaluator::mul_relin_inplace(Ciphertext& a, const Ciphertext& b) const { a = mul_relin(a, b); }

Ciphertext Evaluator::square_relin(const Ciphertext& a) const { return mul_relin(a, a); }

void Evaluator::square_relin_inplace(Ciphertext& a) const { a = mul_relin(a, a); }

}  // namespace cryptounet::ckks
