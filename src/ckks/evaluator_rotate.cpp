// Automorphisms: rotations, conjugation, and hoisted rotations (one ModUp shared by many steps).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/automorphism.h"
#include "cryptounet/math/poly_kernels.h"
#include "constants.h"
#include "keyswitch.h"
#include "limb_tasks.h"
#include "scale_text.h"

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
  detail::parallel_for_limb_ranges(ctx_->pool(), limbs, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    math::kernels::permute(a.part(1).limb(t), perm.data() + lo, c1.limb(t) + lo, hi - lo);
    math::kernels::permute(a.part(0).limb(t), perm.data() + lo, c0.limb(t) + lo, hi - lo);
  });
  // Named members, not a structured binding: clang 14 (fuzz build) cannot capture bindings in lambdas.
  auto switched = detail::key_switch(*ctx_, c1, key);
  auto& r0 = switched.first;
  auto& r1 = switched.second;
  detail::parallel_for_limb_ranges(ctx_->pool(), limbs, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    math::kernels::add(r0.limb(t) + lo, c0.limb(t) + lo, r0.limb(t) + lo, hi - lo, ctx_->modulus(t));
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
  // Key switches of up to kGroup steps share their parallel regions (permutations, the phases of
  // ModDown): fewer regions, and task counts that keep every thread busy at low levels. Each step's
  // words are those of its own rotate.
  constexpr std::size_t kGroup = 4;
  std::vector<std::size_t> todo;  // indices of the non-identity steps
  for (std::size_t s = 0; s < steps.size(); ++s)
    if (gs[s] != 1) todo.push_back(s);
  std::vector<std::optional<Ciphertext>> done(steps.size());
  for (std::size_t g0 = 0; g0 < todo.size(); g0 += kGroup) {
    const std::size_t m = std::min(kGroup, todo.size() - g0);
    std::vector<math::RnsPoly> acc(2 * m), r(2 * m);
    std::vector<const std::uint32_t*> perm(m);
    for (std::size_t i = 0; i < m; ++i) {
      const std::uint64_t g = gs[todo[g0 + i]];
      perm[i] = ctx_->galois_permutation(g).data();
      detail::inner_product(*ctx_, digits, *keys_->galois.find(g), perm[i], acc[2 * i], acc[2 * i + 1]);
      r[2 * i] = math::RnsPoly(n, limbs);
    }
    detail::parallel_for_limb_ranges(ctx_->pool(), m * limbs, n, [&](std::size_t task, std::size_t lo, std::size_t hi) {
      const std::size_t i = task / limbs, t = task % limbs;
      math::kernels::permute(a.part(0).limb(t), perm[i] + lo, r[2 * i].limb(t) + lo, hi - lo);
    });
    std::vector<detail::ModDownHalf> halves;
    for (std::size_t i = 0; i < m; ++i) {
      halves.push_back({&acc[2 * i], &r[2 * i], true});
      halves.push_back({&acc[2 * i + 1], &r[2 * i + 1], false});
    }
    detail::mod_down_many(*ctx_, halves);
    for (std::size_t i = 0; i < m; ++i) {
      std::vector<math::RnsPoly> parts;
      parts.push_back(std::move(r[2 * i]));
      parts.push_back(std::move(r[2 * i + 1]));
      done[todo[g0 + i]].emplace(std::move(parts), a.scale(), a.fingerprint());
    }
  }
  for (std::size_t s = 0; s < steps.size(); ++s) out.push_back(gs[s] == 1 ? a : std::move(*done[s]));
  return out;
}

Ciphertext Evaluator::rotate_hoisted_sum(const Ciphertext& a, std::span<const int> steps, std::span<const double> c,
                                         double const_scale) const {
  const char* op = "rotate_hoisted_sum";
  check_ct(op, a);
  if (a.size() != 2) throw InvalidArgument(std::string(op) + ": ciphertext size " + std::to_string(a.size()) + " is not 2");
  if (steps.empty()) throw InvalidArgument(std::string(op) + ": no steps");
  if (!c.empty() && c.size() != steps.size())
    throw InvalidArgument(std::string(op) + ": " + std::to_string(c.size()) + " weights for " + std::to_string(steps.size()) +
                          " steps");
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1, k = ctx_->p_count();
  const std::size_t nq = ctx_->q_count(), ext = limbs + k;
  // Keys and weights checked before any work; the identity steps' weights are summed.
  std::vector<const KeySwitchKey*> keys;
  std::vector<const std::uint32_t*> perms;
  std::vector<__int128> w;
  __int128 w_id = 0;
  bool has_id = false;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const std::uint64_t g = math::galois_element_for_step(n, steps[s]);
    const __int128 ws = c.empty() ? 1 : detail::round_const(op, c[s], const_scale);
    if (g == 1) {
      has_id = true;
      w_id += ws;
      continue;
    }
    keys.push_back(&galois_key(op, g, steps[s]));
    perms.push_back(ctx_->galois_permutation(g).data());
    w.push_back(ws);
  }
  std::vector<std::uint64_t> w_ext;  // [s * ext + t], t over Q limbs then P limbs
  if (!c.empty()) {
    w_ext.resize(w.size() * ext);
    for (std::size_t s = 0; s < w.size(); ++s)
      for (std::size_t t = 0; t < ext; ++t)
        w_ext[s * ext + t] = detail::from_i128(w[s], ctx_->modulus(t < limbs ? t : nq + (t - limbs)));
  }
  // Q part: sum_s w_s sigma_s(c0) (+ w_id c0), and w_id c1.
  math::RnsPoly r0(n, limbs), r1(n, limbs);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    math::RnsPoly tmp_buf(n, 1);
    std::uint64_t* tmp = tmp_buf.data();
    std::uint64_t* o = r0.limb(t);
    bool started = false;
    for (std::size_t s = 0; s < perms.size(); ++s) {
      math::kernels::permute(a.part(0).limb(t), perms[s], started ? tmp : o, n);
      if (!c.empty()) {
        const math::ShoupOperand ws = math::make_shoup(w_ext[s * ext + t], q);
        if (started)
          math::kernels::mul_scalar_add(tmp, ws, o, n, q);
        else
          math::kernels::mul_scalar(o, ws, o, n, q);
      } else if (started) {
        math::kernels::add(o, tmp, o, n, q);
      }
      started = true;
    }
    if (has_id) {
      const math::ShoupOperand wi = math::make_shoup(detail::from_i128(w_id, q), q);
      if (started)
        math::kernels::mul_scalar_add(a.part(0).limb(t), wi, o, n, q);
      else
        math::kernels::mul_scalar(a.part(0).limb(t), wi, o, n, q);
      math::kernels::mul_scalar(a.part(1).limb(t), wi, r1.limb(t), n, q);
    }
  });
  if (!perms.empty()) {
    const auto digits = detail::mod_up(*ctx_, a.part(1));
    math::RnsPoly acc0, acc1;
    detail::inner_product_sum(*ctx_, digits, keys, perms, c.empty() ? nullptr : w_ext.data(), acc0, acc1);
    detail::mod_down_pair(*ctx_, acc0, r0, true, acc1, r1, has_id);
  }
  std::vector<math::RnsPoly> parts;
  parts.push_back(std::move(r0));
  parts.push_back(std::move(r1));
  return Ciphertext(std::move(parts), c.empty() ? a.scale() : a.scale() * const_scale, a.fingerprint());
}

void Evaluator::rotate_add(RotationSum& sum, const Ciphertext& a, int step) const {
  const char* op = "rotate_add";
  check_ct(op, a);
  if (a.size() != 2) throw InvalidArgument(std::string(op) + ": ciphertext size " + std::to_string(a.size()) + " is not 2");
  if (sum.level >= 0) {
    if (a.level() != sum.level)
      throw InvalidArgument(std::string(op) + ": level mismatch (" + std::to_string(a.level()) + " vs the sum's " +
                            std::to_string(sum.level) + ")");
    if (!detail::scales_equal(a.scale(), sum.scale))
      throw InvalidArgument(std::string(op) + ": scale mismatch (" + detail::log2_str(a.scale()) + " vs the sum's " +
                            detail::log2_str(sum.scale) + ")");
  }
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  const std::uint64_t g = math::galois_element_for_step(n, step);
  const KeySwitchKey* key = g == 1 ? nullptr : &galois_key(op, g, step);  // checked before any work
  const bool first = sum.level < 0;
  if (first) {
    sum.q.clear();
    sum.q.emplace_back(n, limbs);  // written by the first term below
    sum.q.emplace_back(n, limbs);
    sum.qp.clear();
    sum.r1_set = false;
    sum.level = a.level();
    sum.scale = a.scale();
    sum.fingerprint = a.fingerprint();
  }
  math::RnsPoly& r0 = sum.q[0];
  math::RnsPoly& r1 = sum.q[1];
  if (!key) {  // step 0: a itself
    const bool r1_first = !sum.r1_set;
    detail::parallel_for_limb_ranges(ctx_->pool(), limbs, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
      const math::Modulus& q = ctx_->modulus(t);
      if (first)
        std::copy(a.part(0).limb(t) + lo, a.part(0).limb(t) + hi, r0.limb(t) + lo);
      else
        math::kernels::add(r0.limb(t) + lo, a.part(0).limb(t) + lo, r0.limb(t) + lo, hi - lo, q);
      if (r1_first)
        std::copy(a.part(1).limb(t) + lo, a.part(1).limb(t) + hi, r1.limb(t) + lo);
      else
        math::kernels::add(r1.limb(t) + lo, a.part(1).limb(t) + lo, r1.limb(t) + lo, hi - lo, q);
    });
    sum.r1_set = true;
    return;
  }
  // sigma(c0) into the Q part; sigma(c1) switched from sigma(s) to s, its product kept over Q*P.
  const auto& perm = ctx_->galois_permutation(g);
  math::RnsPoly c1(n, limbs);
  detail::parallel_for_limb_ranges(ctx_->pool(), limbs, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    math::kernels::permute(a.part(1).limb(t), perm.data() + lo, c1.limb(t) + lo, hi - lo);
    if (first) {
      math::kernels::permute(a.part(0).limb(t), perm.data() + lo, r0.limb(t) + lo, hi - lo);
    } else {
      std::uint64_t* o = r0.limb(t) + lo;
      math::RnsPoly tmp(hi - lo, 1);  // pooled buffer, no zero fill (as rotate_hoisted_sum's)
      math::kernels::permute(a.part(0).limb(t), perm.data() + lo, tmp.data(), hi - lo);
      math::kernels::add(o, tmp.data(), o, hi - lo, ctx_->modulus(t));
    }
  });
  const auto digits = detail::mod_up(*ctx_, c1);
  if (sum.qp.empty()) {
    math::RnsPoly acc0, acc1;
    detail::inner_product(*ctx_, digits, *key, nullptr, acc0, acc1);
    sum.qp.push_back(std::move(acc0));
    sum.qp.push_back(std::move(acc1));
  } else {
    detail::inner_product_add(*ctx_, digits, *key, sum.qp[0], sum.qp[1]);
  }
}

Ciphertext Evaluator::finish_sum(RotationSum& sum) const {
  if (sum.level < 0) throw InvalidArgument("finish_sum: nothing was added to the sum");
  if (!sum.qp.empty()) detail::mod_down_pair(*ctx_, sum.qp[0], sum.q[0], true, sum.qp[1], sum.q[1], sum.r1_set);
  Ciphertext out(std::move(sum.q), sum.scale, sum.fingerprint);
  sum = RotationSum{};
  return out;
}

}  // namespace cryptounet::ckks
