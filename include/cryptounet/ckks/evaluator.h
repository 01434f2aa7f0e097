// Homomorphic operations on ciphertexts (server side). Every ciphertext and plaintext is in NTT
// form. Each operation comes as `op(...)`, returning a new ciphertext, and `op_inplace(...)`,
// mutating its first argument. Binary operations need equal levels, parameter fingerprints and
// (for add/sub) scales equal within a relative 1e-9; anything else throws InvalidArgument with
// the operation and the values in the message. Costs are per ciphertext at level l with k
// special primes and d digits D_j; a key switch (relinearise, rotate, conjugate) costs
// (l+1) + sum_j (l+1+k-|D_j|) + 2(k + l+1) NTTs (ModUp, ModDown of both halves) and is the
// dominant cost: 36 NTTs at P1, 80 at P2, 190 at P3 (math::ntt_count() counts them). Work is
// spread over the context's thread pool, over limbs. An Evaluator may be used from several
// threads at once (a second concurrent caller runs its work on its own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/ckks/plaintext.h"

namespace cryptounet::ckks {

/// A sum of rotations of different ciphertexts in progress (Evaluator::rotate_add / finish_sum):
/// the slot-side parts in Q and the key-switch products in the extended basis Q*P, summed before
/// one ModDown. Empty until the first rotate_add; one per sum, not shared between threads.
struct RotationSum {
  std::vector<math::RnsPoly> q;   // r0, r1 over q_0..q_level (empty: nothing added yet)
  std::vector<math::RnsPoly> qp;  // acc0, acc1 over Q_level * P (empty: no key switch yet)
  bool r1_set = false;            // r1 holds a step-0 term's c1 (else ModDown writes it)
  int level = -1;
  double scale = 0.0;
  std::uint64_t fingerprint = 0;
};

class Evaluator {
 public:
  /// `keys` may be null (then relinearise/rotate/conjugate throw); if given it must outlive the
  /// evaluator. Throws InvalidArgument if the keys belong to other parameters.
  explicit Evaluator(std::shared_ptr<const Context> ctx, const EvaluationKeys* keys = nullptr);

  [[nodiscard]] const Context& context() const { return *ctx_; }

  // --- additive (no level used; cost O((l+1) N)) ---
  [[nodiscard]] Ciphertext add(const Ciphertext& a, const Ciphertext& b) const;
  void add_inplace(Ciphertext& a, const Ciphertext& b) const;
  [[nodiscard]] Ciphertext sub(const Ciphertext& a, const Ciphertext& b) const;
  void sub_inplace(Ciphertext& a, const Ciphertext& b) const;
  [[nodiscard]] Ciphertext add(const Ciphertext& a, const Plaintext& b) const;
  void add_inplace(Ciphertext& a, const Plaintext& b) const;
  [[nodiscard]] Ciphertext sub(const Ciphertext& a, const Plaintext& b) const;
  void sub_inplace(Ciphertext& a, const Plaintext& b) const;
  [[nodiscard]] Ciphertext negate(const Ciphertext& a) const;
  void negate_inplace(Ciphertext& a) const;
  /// Adds c to every slot (round(c * scale) in every NTT point of part 0). Throws for non-finite c.
  [[nodiscard]] Ciphertext add_const(const Ciphertext& a, double c) const;
  void add_const_inplace(Ciphertext& a, double c) const;

  // --- products by plaintexts and constants (scale multiplies; rescale afterwards) ---
  /// Cost: size * (l+1) element-wise products, no NTT.
  [[nodiscard]] Ciphertext mul_plain(const Ciphertext& a, const Plaintext& b) const;
  void mul_plain_inplace(Ciphertext& a, const Plaintext& b) const;
  /// acc += a * b. Needs acc.scale == a.scale * b.scale (relative 1e-9), equal levels and sizes.
  void mul_plain_add_inplace(Ciphertext& acc, const Ciphertext& a, const Plaintext& b) const;
  /// a * round(c * const_scale); scale *= const_scale. No plaintext is encoded. Throws
  /// InvalidArgument if const_scale <= 0, c or const_scale is not finite, or |c * const_scale| >= 2^126.
  [[nodiscard]] Ciphertext mul_const(const Ciphertext& a, double c, double const_scale) const;
  void mul_const_inplace(Ciphertext& a, double c, double const_scale) const;
  /// acc += a * round(c * const_scale); needs acc.scale == a.scale * const_scale.
  void mul_const_add_inplace(Ciphertext& acc, const Ciphertext& a, double c, double const_scale) const;

  /// One term of a constant linear combination: accs[out] += inputs[in] * round(c * const_scale).
  struct ConstTerm {
    std::uint32_t out = 0;
    std::uint32_t in = 0;
    double c = 0.0;
    double const_scale = 1.0;
  };
  /// Many mul_const_add_inplace at once: every term of `terms`, all outputs computed in one
  /// cache-blocked pass over the inputs (each input word is loaded once per block for all
  /// outputs) with one modular reduction per 15 products, spread over the pool by limb and block.
  /// Inputs: equal levels and sizes. An empty accs[a] (default-constructed) starts at zero and
  /// takes the level, size and scale of its terms; a non-empty one must match them. Every term of
  /// an output needs inputs[in].scale * const_scale equal to the output's scale (relative 1e-9).
  /// Outputs without terms are untouched. Checks everything (and throws InvalidArgument) before
  /// any work. Same result as the terms one by one with mul_const_add_inplace, bit for bit.
  void mul_const_accumulate(std::span<Ciphertext* const> accs, std::span<const Ciphertext* const> inputs,
                            std::span<const ConstTerm> terms) const;

  // --- ciphertext products ---
  /// Tensor product of two size-2 ciphertexts: a size-3 result, scale a.scale * b.scale.
  /// Cost: 4 (l+1) element-wise products.
  [[nodiscard]] Ciphertext mul(const Ciphertext& a, const Ciphertext& b) const;
  void mul_inplace(Ciphertext& a, const Ciphertext& b) const;
  /// Size 3 -> 2 with the relinearisation key (one key switch). Throws InvalidArgument without
  /// a relinearisation key or for a ciphertext of size other than 3.
  [[nodiscard]] Ciphertext relinearize(const Ciphertext& a) const;
  void relinearize_inplace(Ciphertext& a) const;
  /// mul + relinearize (one key switch).
  [[nodiscard]] Ciphertext mul_relin(const Ciphertext& a, const Ciphertext& b) const;
  void mul_relin_inplace(Ciphertext& a, const Ciphertext& b) const;
  /// a * a + relinearize (one key switch; 3 products instead of 4).
  [[nodiscard]] Ciphertext square_relin(const Ciphertext& a) const;
  void square_relin_inplace(Ciphertext& a) const;

  // --- levels ---
  /// Divides by the last prime q_l: level - 1, scale / q_l. Cost: size * (1 inverse + l) NTTs.
  /// Throws InvalidArgument at level 0.
  [[nodiscard]] Ciphertext rescale(const Ciphertext& a) const;
  void rescale_inplace(Ciphertext& a) const;
  /// Discards primes down to `level` (scale unchanged, no noise). Throws InvalidArgument if
  /// level is negative or above a's level.
  [[nodiscard]] Ciphertext drop_level(const Ciphertext& a, int level) const;
  void drop_level_inplace(Ciphertext& a, int level) const;
  [[nodiscard]] Plaintext drop_level(const Plaintext& a, int level) const;

  // --- automorphisms (one key switch each) ---
  /// Rotates the slot vector left by `step` (negative: right); step = 0 (mod slots) copies.
  /// Throws InvalidArgument if no Galois key for the step is loaded or a.size() != 2.
  [[nodiscard]] Ciphertext rotate(const Ciphertext& a, int step) const;
  void rotate_inplace(Ciphertext& a, int step) const;
  /// The rotations of a by every step, sharing one decomposition (ModUp) of a: once (l+1) +
  /// sum_j (l+1+k-|D_j|) NTTs, then per step one inner product and two ModDowns, 2(k + l+1) NTTs
  /// (P2 at the top level: 80 NTTs for one rotation, 360 for eight hoisted). Same result as
  /// rotate() step by step, up to key-switching noise. Throws as rotate(), before any work.
  [[nodiscard]] std::vector<Ciphertext> rotate_hoisted(const Ciphertext& a, std::span<const int> steps) const;
  /// sum_s rot_{steps[s]}(a) * round(c[s] * const_scale) (c empty: the plain sum, scale
  /// unchanged; otherwise scale *= const_scale), with one ModUp of a and ONE ModDown per half for
  /// all steps: the rotated key-switch products are summed in the extended basis Q*P first
  /// (double hoisting, Bossuat et al., Eurocrypt 2021). Cost: (l+1) + sum_j (l+1+k-|D_j|) +
  /// 2(k + l+1) NTTs whatever the number of steps (P2 at the top level: 80, against 8 x 80 for
  /// eight rotations one by one), plus one inner product per step. A step of 0 adds a itself.
  /// The ModDown rounding is shared, so the noise is no larger than one rotation's plus the
  /// weighted inputs'. Throws as rotate_hoisted, or if c is neither empty nor one per step.
  [[nodiscard]] Ciphertext rotate_hoisted_sum(const Ciphertext& a, std::span<const int> steps,
                                              std::span<const double> c = {}, double const_scale = 1.0) const;
  /// sum_s rot_{step_s}(a_s) over different ciphertexts a_s, with ONE ModDown per half for the
  /// whole sum: rotate_add does a's ModUp and adds its key-switch product in the extended basis
  /// Q*P (the output side of double hoisting, Bossuat et al., Eurocrypt 2021); finish_sum divides
  /// by P once and returns the sum (sum is left empty). Cost per added rotation: (l+1) + sum_j
  /// (l+1+k-|D_j|) NTTs and one inner product; the 2(k + l+1) NTTs of ModDown once per sum, not
  /// per rotation. Step 0 adds a itself. The same values as rotating one by one and adding, with
  /// one ModDown rounding instead of one per rotation. Throws InvalidArgument on a missing key, a
  /// size other than 2, or a term at another level, scale or parameter set than the first;
  /// finish_sum throws on an empty sum.
  void rotate_add(RotationSum& sum, const Ciphertext& a, int step) const;
  [[nodiscard]] Ciphertext finish_sum(RotationSum& sum) const;
  /// Complex conjugation of every slot. Throws InvalidArgument without the conjugation key.
  [[nodiscard]] Ciphertext conjugate(const Ciphertext& a) const;
  void conjugate_inplace(Ciphertext& a) const;
  /// The automorphism of Galois element g (odd, < 2N) with its key.
  [[nodiscard]] Ciphertext apply_galois(const Ciphertext& a, std::uint64_t g) const;

 private:
  [[nodiscard]] Ciphertext combine(const Ciphertext& a, const Ciphertext& b, bool subtract) const;
  void check_ct(const char* op, const Ciphertext& a) const;
  void check_pair(const char* op, const Ciphertext& a, const Ciphertext& b, bool same_scale) const;
  void check_pt(const char* op, const Ciphertext& a, const Plaintext& b) const;
  [[nodiscard]] const KeySwitchKey& galois_key(const char* op, std::uint64_t g, int step) const;

  std::shared_ptr<const Context> ctx_;
  const EvaluationKeys* keys_;
};

}  // namespace cryptounet::ckks
