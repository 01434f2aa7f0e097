// Hybrid key switching (Han-Ki, CT-RSA 2020; the RNS form of Kim-Polyakov-Zucca 2021), in three
// steps that hoisted rotations call separately:
//   mod_up:        the digits [c]_{Q_j} of c, each extended to Q_l and P by fast base conversion;
//   inner_product: sum_j digit_j * key_j over Q_l and P (optionally reading the digits through
//                  an automorphism permutation: hoisting);
//   mod_down:      divide by P and drop the special primes.
// Internal to ckks/.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/math/rns_poly.h"

namespace cryptounet::ckks::detail {

/// c: NTT form, l+1 limbs. Returns one polynomial per digit meeting q_0..q_l, each of l+1+k limbs
/// (Q limbs 0..l, then P), NTT form. Cost: (l+1) inverse NTTs + sum_j (l+1+k - |digit j|) NTTs.
[[nodiscard]] std::vector<math::RnsPoly> mod_up(const Context& ctx, const math::RnsPoly& c);

/// acc0/acc1 (allocated here, l+1+k limbs) = sum_j digits[j] * key.b[j] / key.a[j]. If perm is
/// non-null the digits are read permuted (digit[perm[i]]). No NTT.
void inner_product(const Context& ctx, const std::vector<math::RnsPoly>& digits, const KeySwitchKey& key,
                   const std::uint32_t* perm, math::RnsPoly& acc0, math::RnsPoly& acc1);

/// acc0/acc1 (l+1+k limbs, already holding a sum) += sum_j digits[j] * key.b[j] / key.a[j]: key-switch
/// products of different ciphertexts summed in the extended basis (Evaluator::rotate_add). No NTT.
void inner_product_add(const Context& ctx, const std::vector<math::RnsPoly>& digits, const KeySwitchKey& key,
                       math::RnsPoly& acc0, math::RnsPoly& acc1);

/// Double hoisting: acc0/acc1 (allocated here, l+1+k limbs) = sum_s w_s * sum_j
/// perm_s(digits[j]) * keys[s].b[j] / .a[j], the key-switch products of several automorphisms of
/// one decomposition summed in the extended basis Q*P, so that one mod_down per half finishes all
/// of them. weights: w_s mod each extended limb at [s * (l+1+k) + t], or null for w_s = 1.
void inner_product_sum(const Context& ctx, const std::vector<math::RnsPoly>& digits,
                       std::span<const KeySwitchKey* const> keys, std::span<const std::uint32_t* const> perms,
                       const std::uint64_t* weights, math::RnsPoly& acc0, math::RnsPoly& acc1);

/// out (l+1 limbs) = (acc - conv_P->Q(acc mod P)) / P, or out += that if accumulate.
/// Cost: k inverse NTTs + (l+1) NTTs.
void mod_down(const Context& ctx, const math::RnsPoly& acc, math::RnsPoly& out, bool accumulate);

/// Both halves of a key switch at once (the same words as two mod_down calls): one parallel
/// region per phase over the tasks of both, so that odd task counts (k special primes, l+1
/// limbs) keep both threads of a 2-thread pool busy.
void mod_down_pair(const Context& ctx, const math::RnsPoly& acc0, math::RnsPoly& out0, bool accumulate0,
                   const math::RnsPoly& acc1, math::RnsPoly& out1, bool accumulate1);

/// One half of a key switch for mod_down_many: out (l+1 limbs) = (acc - conv_P->Q(acc mod P)) / P,
/// or out += that if accumulate.
struct ModDownHalf {
  const math::RnsPoly* acc;
  math::RnsPoly* out;
  bool accumulate;
};
/// Several halves (all with the same limb count) at once, the same words as one mod_down each:
/// one parallel region per phase over the tasks of all of them.
void mod_down_many(const Context& ctx, std::span<const ModDownHalf> halves);
/// The whole key switch of c: (r0, r1) with r0 + r1 s = c s' + small noise.
[[nodiscard]] std::pair<math::RnsPoly, math::RnsPoly> key_switch(const Context& ctx, const math::RnsPoly& c,
                                                                 const KeySwitchKey& key);

}  // namespace cryptounet::ckks::detail
