#include "cryptounet/ckks/keygen.h"

#include <set>
#include <string>
#include <vector>

#include "cryptounet/common/error.h"
#include "cryptounet/math/automorphism.h"
#include "cryptounet/math/poly_kernels.h"
#include "cryptounet/math/sampler.h"

namespace cryptounet::ckks {
namespace {

std::vector<std::size_t> iota(std::size_t count) {
  std::vector<std::size_t> v(count);
  for (std::size_t i = 0; i < count; ++i) v[i] = i;
  return v;
}

// A small signed polynomial (secret or error) as an NTT-form RnsPoly over the QP indices [0, limbs).
math::RnsPoly small_to_ntt(const Context& ctx, const std::vector<std::int64_t>& coeffs, std::size_t limbs) {
  const std::size_t n = ctx.n();
  math::RnsPoly out(n, limbs);
  ctx.pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx.modulus(t);
    std::uint64_t* dst = out.limb(t);
    for (std::size_t i = 0; i < n; ++i) dst[i] = math::from_signed(coeffs[i], q);
    math::ntt_forward(dst, ctx.ntt(t));
  });
  return out;
}

void wipe(std::vector<std::int64_t>& v) {
  volatile std::int64_t* p = v.data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = 0;
}

}  // namespace

KeyGenerator::KeyGenerator(std::shared_ptr<const Context> ctx) : ctx_(std::move(ctx)) {
  if (!ctx_) throw InvalidArgument("KeyGenerator: null context");
}

void KeyGenerator::check(const SecretKey& sk, const char* op) const {
  if (sk.fingerprint() != ctx_->fingerprint() || sk.poly().limbs() != ctx_->q_count() + ctx_->p_count())
    throw InvalidArgument(std::string(op) + ": secret key belongs to other parameters");
}

SecretKey KeyGenerator::secret_key() const {
  const std::size_t n = ctx_->n();
  math::Prng prng(math::random_seed());
  std::vector<std::int64_t> s(n);
  math::sample_ternary(prng, s.data(), n);
  math::RnsPoly poly = small_to_ntt(*ctx_, s, ctx_->q_count() + ctx_->p_count());
  wipe(s);
  return SecretKey::from_poly(std::move(poly), ctx_->fingerprint());
}

PublicKey KeyGenerator::public_key(const SecretKey& sk) const {
  check(sk, "public_key");
  const std::size_t n = ctx_->n(), nq = ctx_->q_count();
  PublicKey pk;
  pk.seed = math::random_seed();
  pk.fingerprint = ctx_->fingerprint();
  pk.a = expand_uniform(*ctx_, pk.seed, kPublicKeyDomain, iota(nq));
  math::Prng prng(math::random_seed());
  std::vector<std::int64_t> e(n);
  math::sample_gaussian(prng, e.data(), n);
  pk.b = small_to_ntt(*ctx_, e, nq);
  wipe(e);
  ctx_->pool().parallel_for(0, nq, [&](std::size_t t) {
    // b = e - a s
    math::RnsPoly as(n, 1);  // a s reveals s: wiped below
    math::kernels::mul(pk.a.limb(t), sk.poly().limb(t), as.data(), n, ctx_->modulus(t));
    math::kernels::sub(pk.b.limb(t), as.data(), pk.b.limb(t), n, ctx_->modulus(t));
    as.wipe();
  });
  return pk;
}

KeySwitchKey KeyGenerator::key_switch_key(const SecretKey& sk, const math::RnsPoly& s_prime) const {
  const std::size_t n = ctx_->n(), nq = ctx_->q_count(), nqp = nq + ctx_->p_count();
  KeySwitchKey key;
  key.seed = math::random_seed();
  key.fingerprint = ctx_->fingerprint();
  const auto all = iota(nqp);
  math::Prng prng(math::random_seed());
  std::vector<std::int64_t> e(n);
  for (int j = 0; j < ctx_->dnum(); ++j) {
    math::RnsPoly a = expand_uniform(*ctx_, key.seed, kKeySwitchDomain + (static_cast<std::uint64_t>(j) << 32), all);
    math::sample_gaussian(prng, e.data(), n);
    math::RnsPoly b = small_to_ntt(*ctx_, e, nqp);
    const std::size_t db = ctx_->digit_begin(j), de = ctx_->digit_end(j);
    ctx_->pool().parallel_for(0, nqp, [&](std::size_t t) {
      const math::Modulus& q = ctx_->modulus(t);
      math::RnsPoly tmp(n, 1);  // a s reveals s: wiped below
      math::kernels::mul(a.limb(t), sk.poly().limb(t), tmp.data(), n, q);
      math::kernels::sub(b.limb(t), tmp.data(), b.limb(t), n, q);  // e - a s
      tmp.wipe();
      if (t >= db && t < de) {
        // + P s' on the digit's own primes (the CRT gadget is 1 there and 0 on the other Q primes).
        math::kernels::mul_scalar_add(s_prime.limb(t), math::make_shoup(ctx_->p_mod_q(t), q), b.limb(t), n, q);
      }
    });
    key.b.push_back(std::move(b));
    key.a.push_back(std::move(a));
  }
  wipe(e);
  return key;
}

RelinKey KeyGenerator::relin_key(const SecretKey& sk) const {
  check(sk, "relin_key");
  const std::size_t n = ctx_->n(), nq = ctx_->q_count();
  math::RnsPoly s2(n, nq);
  for (std::size_t t = 0; t < nq; ++t)
    math::kernels::mul(sk.poly().limb(t), sk.poly().limb(t), s2.limb(t), n, ctx_->modulus(t));
  RelinKey rk{key_switch_key(sk, s2)};
  s2.wipe();
  return rk;
}

KeySwitchKey KeyGenerator::galois_key(const SecretKey& sk, std::uint64_t g) const {
  check(sk, "galois_key");
  if ((g & 1) == 0 || g >= 2 * ctx_->n())
    throw InvalidArgument("galois_key: element " + std::to_string(g) + " is not odd in [1, 2N)");
  const std::size_t n = ctx_->n(), nq = ctx_->q_count();
  const auto& perm = ctx_->galois_permutation(g);
  math::RnsPoly sg(n, nq);
  for (std::size_t t = 0; t < nq; ++t) math::kernels::permute(sk.poly().limb(t), perm.data(), sg.limb(t), n);
  KeySwitchKey key = key_switch_key(sk, sg);
  sg.wipe();
  return key;
}

GaloisKeys KeyGenerator::galois_keys(const SecretKey& sk, std::span<const int> rotation_steps, bool conjugate) const {
  check(sk, "galois_keys");
  std::set<std::uint64_t> elements;
  for (int step : rotation_steps) {
    const std::uint64_t g = math::galois_element_for_step(ctx_->n(), step);
    if (g != 1) elements.insert(g);
  }
  if (conjugate) elements.insert(2 * ctx_->n() - 1);
  GaloisKeys keys;
  for (std::uint64_t g : elements) keys.keys.emplace(g, galois_key(sk, g));
  return keys;
}

}  // namespace cryptounet::ckks
