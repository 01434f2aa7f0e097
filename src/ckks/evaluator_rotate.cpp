// Automorphisms: rotations, conjugation, and hoisted rotations (one ModUp shared by many steps).
#include <string>
#include <vector>

#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/automorphism.h"
#include "cryptounet/math/poly_kernels.h"
#include "keyswitch.h"

namespace cryptounet::ckks {

const KeySwitchKey& Evaluator::galois_key(const char* op, std::uint64_t g, int step) const {
  const KeySwitchKey* key = keys_ ? keys_->galois.find(g) : nullptr;
  if (!key) {
    std::string what = step == 0 && g == 2 * ctx_->n() - 1 ? std::string("conjugation")
                                                          : "step " + std::to_string(step);
    throw InvalidArgument(std::string(op) + ": no Galois key for " + what + " (Galois element " + std::to_string(g) + ")");
  }
  return *key;
}

Ciphertext Evaluator::apply_galois(const Ciphertext& a, std::uint64_t g) const {
  check_ct("apply_galois", a);
  if (a.size() != 2) throw InvalidArgument("apply_galois: ciphertext size " + std::to_string(a.size()) + " is not 2");
  const KeySwitchKey& key = galois_key("apply_galois", g, 0);
  const auto& perm = ctx_->galois_permutation(g);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  // sigma(c1) switched from sigma(s) to s; sigma(c0) added.
  math::RnsPoly c1(n, limbs), c0(n, limbs);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    math::kernels::permute(a.part(1).limb(t), perm.data(), c1.limb(t), n);
    math::kernels::permute(a.part(0).limb(t), perm.data(), c0.limb(t), n);
  });
  // Named members, not a structured binding: clang 14 (fuzz build) cannot capture bindings in lambdas.
  auto switched = detail::key_switch(*ctx_, c1, key);
  auto& r0 = switched.first;
  auto& r1 = switched.second;
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    math::kernels::add(r0.limb(t), c0.limb(t), r0.limb(t), n, ctx_->modulus(t));
  });
  std::vector<math::RnsPoly> parts;
  parts.push_back(std::move(r0));
  parts.push_back(std::move(r1));
  return Ciphertext(std::move(parts), a.scale(), a.fingerprint());
}

Ciphertext Evaluator::rotate(const Ciphertext& a, int step) const {
  check_ct("rotate", a);
  if (a.size() != 2) throw InvalidArgument("rotate: ciphertext size " + std::to_string(a.size()) + " is not 2");
  const std::uint64_t g = math::galois_element_for_step(ctx_->n(), step);
  if (g == 1) return a;
  (void)galois_key("rotate", g, step);
  return apply_galois(a, g);
}

void Evaluator::rotate_inplace(Ciphertext& a, int step) const { a = rotate(a, step); }

Ciphertext Evaluator::conjugate(const Ciphertext& a) const {
  check_ct("conjugate", a);
  const std::uint64_t g = 2 * ctx_->n() - 1;
  (void)galois_key("conjugate", g, 0);
  return apply_galois(a, g);
}

void Evaluator::conjugate_inplace(Ciphertext& a) const { a = conjugate(a); }

std::vector<Ciphertext> Evaluator::rotate_hoisted(const Ciphertext& a, std::span<const int> steps) const {
  check_ct("rotate_hoisted", a);
  if (a.size() != 2) throw InvalidArgument("rotate_hoisted: ciphertext size " + std::to_string(a.size()) + " is not 2");
  // Check every key before doing any work.
  std::vector<std::uint64_t> gs;
  for (int step : steps) {
    const std::uint64_t g = math::galois_element_for_step(ctx_->n(), step);
    if (g != 1) (void)galois_key("rotate_hoisted", g, step);
    gs.push_back(g);
  }
  std::vector<Ciphertext> out;
  out.reserve(steps.size());
  bool need_digits = false;
  for (auto g : gs) need_digits |= (g != 1);
  std::vector<math::RnsPoly> digits;
  if (need_digits) digits = detail::mod_up(*ctx_, a.part(1));
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const std::uint64_t g = gs[s];
    if (g == 1) {
      out.push_back(a);
      continue;
    }
    const auto& perm = ctx_->galois_permutation(g);
    math::RnsPoly acc0, acc1;
    detail::inner_product(*ctx_, digits, *keys_->galois.find(g), perm.data(), acc0, acc1);
    math::RnsPoly r0(n, limbs), r1;
    ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
      math::kernels::permute(a.part(0).limb(t), perm.data(), r0.limb(t), n);
    });
    detail::mod_down(*ctx_, acc0, r0, true);
    detail::mod_down(*ctx_, acc1, r1, false);
    std::vector<math::RnsPoly> parts;
    parts.push_back(std::move(r0));
    parts.push_back(std::move(r1));
    out.emplace_back(std::move(parts), a.scale(), a.fingerprint());
  }
  return out;
}

}  // namespace cryptounet::ckks
