// Evaluator: construction, argument checks, additive operations and products by plaintexts and
// constants. Products of ciphertexts are in evaluator_mul.cpp, levels in evaluator_rescale.cpp,
// automorphisms in evaluator_rotate.cpp.
#include "cryptounet/ckks/evaluator.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/poly_kernels.h"
#include "constants.h"
#include "limb_tasks.h"
#include "scale_text.h"

namespace cryptounet::ckks {
namespace {

using detail::log2_str;
using detail::scales_equal;
using detail::from_i128;
using detail::round_const;

}  // namespace

Evaluator::Evaluator(std::shared_ptr<const Context> ctx, const EvaluationKeys* keys) : ctx_(std::move(ctx)), keys_(keys) {
  if (!ctx_) throw InvalidArgument("Evaluator: null context");
  if (keys_) {
    // Fingerprint and shape: a key that does not fit would read out of bounds in key switching.
    auto check_key = [&](const KeySwitchKey& k, const std::string& what) {
      if (k.fingerprint != ctx_->fingerprint()) throw InvalidArgument("Evaluator: " + what + " belongs to other parameters");
      const std::size_t d = static_cast<std::size_t>(ctx_->dnum()), limbs = ctx_->q_count() + ctx_->p_count();
      bool ok = k.b.size() == d && k.a.size() == d;
      for (std::size_t j = 0; ok && j < d; ++j)
        ok = k.b[j].n() == ctx_->n() && k.a[j].n() == ctx_->n() && k.b[j].limbs() == limbs && k.a[j].limbs() == limbs;
      if (!ok) throw InvalidArgument("Evaluator: " + what + " is malformed (digits or limbs do not match the parameters)");
    };
    if (!keys_->relin.empty()) check_key(keys_->relin.key, "relinearisation key");
    for (const auto& [g, k] : keys_->galois.keys) {
      if ((g & 1) == 0 || g >= 2 * ctx_->n())
        throw InvalidArgument("Evaluator: Galois element " + std::to_string(g) + " is not odd in [1, 2N)");
      check_key(k, "Galois key " + std::to_string(g));
    }
  }
}

void Evaluator::check_ct(const char* op, const Ciphertext& a) const {
  if (a.level() < 0 || a.size() < 2) throw InvalidArgument(std::string(op) + ": empty ciphertext");
  if (a.fingerprint() != ctx_->fingerprint())
    throw InvalidArgument(std::string(op) + ": ciphertext belongs to other parameters (fingerprint mismatch)");
  // Shape checks (cheap) so that a malformed ciphertext is an error, not an out-of-bounds access.
  if (a.size() > 3 || static_cast<std::size_t>(a.level()) >= ctx_->q_count())
    throw InvalidArgument(std::string(op) + ": malformed ciphertext (size " + std::to_string(a.size()) + ", level " +
                          std::to_string(a.level()) + ")");
  for (const auto& p : a.parts())
    if (p.n() != ctx_->n() || p.limbs() != a.part(0).limbs())
      throw InvalidArgument(std::string(op) + ": malformed ciphertext (parts of different shapes)");
}

void Evaluator::check_pair(const char* op, const Ciphertext& a, const Ciphertext& b, bool same_scale) const {
  check_ct(op, a);
  check_ct(op, b);
  if (a.level() != b.level())
    throw InvalidArgument(std::string(op) + ": level mismatch (" + std::to_string(a.level()) + " vs " +
                          std::to_string(b.level()) + "); drop_level the higher one first");
  if (same_scale && !scales_equal(a.scale(), b.scale()))
    throw InvalidArgument(std::string(op) + ": scale mismatch (" + log2_str(a.scale()) + " vs " + log2_str(b.scale()) + ")");
}

void Evaluator::check_pt(const char* op, const Ciphertext& a, const Plaintext& b) const {
  check_ct(op, a);
  if (b.level() < 0) throw InvalidArgument(std::string(op) + ": empty plaintext");
  if (b.n() != ctx_->n()) throw InvalidArgument(std::string(op) + ": malformed plaintext (ring degree)");
  if (b.fingerprint() != ctx_->fingerprint())
    throw InvalidArgument(std::string(op) + ": plaintext belongs to other parameters (fingerprint mismatch)");
  if (a.level() != b.level())
    throw InvalidArgument(std::string(op) + ": level mismatch (ciphertext " + std::to_string(a.level()) + " vs plaintext " +
                          std::to_string(b.level()) + ")");
}

// ---- additive ----

void Evaluator::add_inplace(Ciphertext& a, const Ciphertext& b) const {
  check_pair("add", a, b, true);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = a.parts();
  while (parts.size() < b.size()) parts.push_back(math::RnsPoly::zeros(n, limbs));
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    for (std::size_t p = 0; p < b.size(); ++p)
      math::kernels::add(parts[p].limb(t), b.part(p).limb(t), parts[p].limb(t), n, ctx_->modulus(t));
  });
}

Ciphertext Evaluator::add(const Ciphertext& a, const Ciphertext& b) const {
  check_pair("add", a, b, true);
  return combine(a, b, false);
}

void Evaluator::sub_inplace(Ciphertext& a, const Ciphertext& b) const {
  check_pair("sub", a, b, true);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = a.parts();
  while (parts.size() < b.size()) parts.push_back(math::RnsPoly::zeros(n, limbs));
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    for (std::size_t p = 0; p < b.size(); ++p)
      math::kernels::sub(parts[p].limb(t), b.part(p).limb(t), parts[p].limb(t), n, ctx_->modulus(t));
  });
}

Ciphertext Evaluator::sub(const Ciphertext& a, const Ciphertext& b) const {
  check_pair("sub", a, b, true);
  return combine(a, b, true);
}

// a + b or a - b into a new ciphertext (one pass; no copy of a first).
Ciphertext Evaluator::combine(const Ciphertext& a, const Ciphertext& b, bool subtract) const {
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  const std::size_t size = std::max(a.size(), b.size());
  std::vector<math::RnsPoly> parts;
  for (std::size_t p = 0; p < size; ++p) parts.emplace_back(n, limbs);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    for (std::size_t p = 0; p < size; ++p) {
      std::uint64_t* d = parts[p].limb(t);
      if (p < a.size() && p < b.size()) {
        if (subtract) {
          math::kernels::sub(a.part(p).limb(t), b.part(p).limb(t), d, n, q);
        } else {
          math::kernels::add(a.part(p).limb(t), b.part(p).limb(t), d, n, q);
        }
      } else if (p < a.size()) {
        std::copy_n(a.part(p).limb(t), n, d);
      } else if (subtract) {
        math::kernels::negate(b.part(p).limb(t), d, n, q);
      } else {
        std::copy_n(b.part(p).limb(t), n, d);
      }
    }
  });
  return Ciphertext(std::move(parts), a.scale(), a.fingerprint());
}

void Evaluator::add_inplace(Ciphertext& a, const Plaintext& b) const {
  check_pt("add", a, b);
  if (!scales_equal(a.scale(), b.scale()))
    throw InvalidArgument("add: scale mismatch (ciphertext " + log2_str(a.scale()) + " vs plaintext " + log2_str(b.scale()) + ")");
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& c0 = a.part(0);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    math::kernels::add(c0.limb(t), b.poly().limb(t), c0.limb(t), n, ctx_->modulus(t));
  });
}

Ciphertext Evaluator::add(const Ciphertext& a, const Plaintext& b) const {
  Ciphertext r = a;
  add_inplace(r, b);
  return r;
}

void Evaluator::sub_inplace(Ciphertext& a, const Plaintext& b) const {
  check_pt("sub", a, b);
  if (!scales_equal(a.scale(), b.scale()))
    throw InvalidArgument("sub: scale mismatch (ciphertext " + log2_str(a.scale()) + " vs plaintext " + log2_str(b.scale()) + ")");
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& c0 = a.part(0);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    math::kernels::sub(c0.limb(t), b.poly().limb(t), c0.limb(t), n, ctx_->modulus(t));
  });
}

Ciphertext Evaluator::sub(const Ciphertext& a, const Plaintext& b) const {
  Ciphertext r = a;
  sub_inplace(r, b);
  return r;
}

void Evaluator::negate_inplace(Ciphertext& a) const {
  check_ct("negate", a);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = a.parts();
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    for (auto& p : parts) math::kernels::negate(p.limb(t), p.limb(t), n, ctx_->modulus(t));
  });
}

Ciphertext Evaluator::negate(const Ciphertext& a) const {
  Ciphertext r = a;
  negate_inplace(r);
  return r;
}

void Evaluator::add_const_inplace(Ciphertext& a, double c) const {
  check_ct("add_const", a);
  const __int128 k = round_const("add_const", c, a.scale());
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& c0 = a.part(0);
  // A constant polynomial is the same value at every NTT point.
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    math::kernels::add_scalar(c0.limb(t), from_i128(k, ctx_->modulus(t)), c0.limb(t), n, ctx_->modulus(t));
  });
}

Ciphertext Evaluator::add_const(const Ciphertext& a, double c) const {
  Ciphertext r = a;
  add_const_inplace(r, c);
  return r;
}

// ---- products by plaintexts and constants ----

void Evaluator::mul_plain_inplace(Ciphertext& a, const Plaintext& b) const {
  check_pt("mul_plain", a, b);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = a.parts();
  detail::parallel_for_limb_ranges(ctx_->pool(), limbs, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    for (auto& p : parts)
      math::kernels::mul(p.limb(t) + lo, b.poly().limb(t) + lo, p.limb(t) + lo, hi - lo, ctx_->modulus(t));
  });
  a.set_scale(a.scale() * b.scale());
}

Ciphertext Evaluator::mul_plain(const Ciphertext& a, const Plaintext& b) const {
  check_pt("mul_plain", a, b);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  std::vector<math::RnsPoly> parts;
  for (std::size_t p = 0; p < a.size(); ++p) parts.emplace_back(n, limbs);
  detail::parallel_for_limb_ranges(ctx_->pool(), limbs, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    for (std::size_t p = 0; p < a.size(); ++p)
      math::kernels::mul(a.part(p).limb(t) + lo, b.poly().limb(t) + lo, parts[p].limb(t) + lo, hi - lo,
                         ctx_->modulus(t));
  });
  return Ciphertext(std::move(parts), a.scale() * b.scale(), a.fingerprint());
}

void Evaluator::mul_plain_add_inplace(Ciphertext& acc, const Ciphertext& a, const Plaintext& b) const {
  check_pt("mul_plain_add", a, b);
  check_pair("mul_plain_add", acc, a, false);
  if (!scales_equal(acc.scale(), a.scale() * b.scale()))
    throw InvalidArgument("mul_plain_add: accumulator scale " + log2_str(acc.scale()) + " is not the product scale " +
                          log2_str(a.scale() * b.scale()));
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = acc.parts();
  while (parts.size() < a.size()) parts.push_back(math::RnsPoly::zeros(n, limbs));
  detail::parallel_for_limb_ranges(ctx_->pool(), limbs, n, [&](std::size_t t, std::size_t lo, std::size_t hi) {
    for (std::size_t p = 0; p < a.size(); ++p)
      math::kernels::mul_add(a.part(p).limb(t) + lo, b.poly().limb(t) + lo, parts[p].limb(t) + lo, hi - lo,
                             ctx_->modulus(t));
  });
}

void Evaluator::mul_const_inplace(Ciphertext& a, double c, double const_scale) const {
  check_ct("mul_const", a);
  const __int128 k = round_const("mul_const", c, const_scale);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = a.parts();
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    const math::ShoupOperand w = math::make_shoup(from_i128(k, q), q);
    for (auto& p : parts) math::kernels::mul_scalar(p.limb(t), w, p.limb(t), n, q);
  });
  a.set_scale(a.scale() * const_scale);
}

// Out of place in one pass (read a, write the product): copying first and multiplying in place
// moved twice the bytes.
Ciphertext Evaluator::mul_const(const Ciphertext& a, double c, double const_scale) const {
  check_ct("mul_const", a);
  const __int128 k = round_const("mul_const", c, const_scale);
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  std::vector<math::RnsPoly> parts;
  for (std::size_t p = 0; p < a.size(); ++p) parts.emplace_back(n, limbs);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    const math::ShoupOperand w = math::make_shoup(from_i128(k, q), q);
    for (std::size_t p = 0; p < a.size(); ++p) math::kernels::mul_scalar(a.part(p).limb(t), w, parts[p].limb(t), n, q);
  });
  return Ciphertext(std::move(parts), a.scale() * const_scale, a.fingerprint());
}

void Evaluator::mul_const_add_inplace(Ciphertext& acc, const Ciphertext& a, double c, double const_scale) const {
  check_pair("mul_const_add", acc, a, false);
  const __int128 k = round_const("mul_const_add", c, const_scale);
  if (!scales_equal(acc.scale(), a.scale() * const_scale))
    throw InvalidArgument("mul_const_add: accumulator scale " + log2_str(acc.scale()) + " is not the product scale " +
                          log2_str(a.scale() * const_scale));
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(a.level()) + 1;
  auto& parts = acc.parts();
  while (parts.size() < a.size()) parts.push_back(math::RnsPoly::zeros(n, limbs));
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    const math::ShoupOperand w = math::make_shoup(from_i128(k, q), q);
    for (std::size_t p = 0; p < a.size(); ++p) math::kernels::mul_scalar_add(a.part(p).limb(t), w, parts[p].limb(t), n, q);
  });
}

}  // namespace cryptounet::ckks
