// The contract between the encrypted executor (he/exec) and an HE backend, checked by the
// compiler: the slot simulator (sim_backend.h) and the CKKS engine (ckks_backend.h) both satisfy
// HeBackend, and the executor accepts nothing else. A backend only computes; the executor
// counts what it asks for (exec/counting_backend.h), so every backend reports the same events.
#pragma once

#include <concepts>
#include <span>
#include <vector>

#include "cryptounet/he/backends/const_product.h"

namespace cryptounet::nn {

template <class B>
concept HeBackend = requires(B& b, const B& cb, typename B::Ct& acc, const typename B::Ct& ct,
                             const typename B::Pt& pt, std::span<const double> values,
                             std::span<typename B::Ct* const> outs,
                             std::span<const typename B::Ct* const> ins,
                             std::span<const ConstProduct> terms, std::span<const int> steps,
                             typename B::RotSum& rsum, int level, int step, double x) {
  typename B::Ct;
  typename B::Pt;
  typename B::RotSum;  // a sum of rotations in progress (rotate_add / finish_sum); `terms` counts them
  // What the backend is: slot count, modulus q_level, default scale; a ciphertext's level/scale.
  { cb.slots() } -> std::convertible_to<int>;
  { cb.modulus(level) } -> std::convertible_to<double>;
  { cb.default_scale() } -> std::convertible_to<double>;
  { B::level(ct) } -> std::convertible_to<int>;
  { B::scale(ct) } -> std::convertible_to<double>;
  // The verbs the HE layers use (see he/exec/executor_impl.h).
  { b.encode(values, level, x) } -> std::same_as<typename B::Pt>;
  { b.mul_plain(ct, pt) } -> std::same_as<typename B::Ct>;
  b.mul_plain_add_inplace(acc, ct, pt);
  { b.mul_const(ct, x, x) } -> std::same_as<typename B::Ct>;
  b.mul_const_add_inplace(acc, ct, x, x);
  b.mul_const_accumulate(outs, ins, terms);
  b.add_inplace(acc, ct);
  b.add_plain_inplace(acc, pt);
  b.add_const_inplace(acc, x);
  { b.square_relin(ct) } -> std::same_as<typename B::Ct>;
  b.rescale_inplace(acc);
  b.drop_level_inplace(acc, level);
  // Relabels a ciphertext's scale without touching its values (see reconcile_scales in the executor).
  b.set_scale(acc, x);
  { b.rotate(ct, step) } -> std::same_as<typename B::Ct>;
  { b.rotate_hoisted(ct, steps) } -> std::same_as<std::vector<typename B::Ct>>;
  // sum_s rot_{step_s}(ct_s) over different ciphertexts: the CKKS engine shares one ModDown per
  // sum (ckks::Evaluator::rotate_add); counted as the rotations (step != 0) and additions it replaces.
  b.rotate_add(rsum, ct, step);
  { b.finish_sum(rsum) } -> std::same_as<typename B::Ct>;
  { rsum.terms } -> std::convertible_to<int>;
};

/// A backend that only tracks levels and scales (`static constexpr bool kShapeOnly = true`): the
/// planner's (src/he/backends/shape_backend.h). The HE layers hand it no slot values (encode gets
/// an empty span), so predicting a plan's counts costs no slot arithmetic.
template <class B>
concept shape_only_backend = requires {
  { B::kShapeOnly } -> std::convertible_to<bool>;
} && B::kShapeOnly;

}  // namespace cryptounet::nn
