#include "cryptounet/ckks/encryptor.h"

#include <numeric>
#include <string>
#include <vector>

#include "cryptounet/common/error.h"
#include "cryptounet/math/poly_kernels.h"
#include "cryptounet/math/sampler.h"

namespace cryptounet::ckks {
namespace {

// Ephemeral randomness (u, errors) decrypts the ciphertext it made: clear it before release.
void wipe(std::vector<std::int64_t>& v) {
  volatile std::int64_t* p = v.data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = 0;
}

// x mod q for |x| < q (noise, ternary samples), branch-free.
void small_to_limb(const std::int64_t* x, std::uint64_t* out, std::size_t n, std::uint64_t q) {
  const auto qs = static_cast<std::int64_t>(q);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint64_t>(x[i] + (qs & (x[i] >> 63)));
}

}  // namespace

Encryptor::Encryptor(std::shared_ptr<const Context> ctx, const PublicKey& pk) : ctx_(std::move(ctx)), pk_(pk) {
  if (!ctx_) throw InvalidArgument("Encryptor: null context");
  if (pk.fingerprint != ctx_->fingerprint() || pk.b.limbs() != ctx_->q_count())
    throw InvalidArgument("Encryptor: public key belongs to other parameters");
}

Encryptor::Encryptor(std::shared_ptr<const Context> ctx, const SecretKey& sk) : ctx_(std::move(ctx)), sk_(sk.clone()) {
  if (!ctx_) throw InvalidArgument("Encryptor: null context");
  if (sk.fingerprint() != ctx_->fingerprint() || sk.poly().limbs() != ctx_->q_count() + ctx_->p_count())
    throw InvalidArgument("Encryptor: secret key belongs to other parameters");
}

Ciphertext Encryptor::encrypt(const Plaintext& pt) const {
  if (pt.level() < 0) throw InvalidArgument("encrypt: empty plaintext");
  if (pt.fingerprint() != ctx_->fingerprint()) throw InvalidArgument("encrypt: plaintext belongs to other parameters");
  const std::size_t n = ctx_->n();
  const std::size_t limbs = static_cast<std::size_t>(pt.level()) + 1;
  math::Prng prng(math::random_seed());
  std::vector<std::int64_t> e0(n);
  math::sample_gaussian(prng, e0.data(), n);
  math::RnsPoly c0(n, limbs);
  if (pk_) {
    // (c0, c1) = (b u + e0 + m, a u + e1), u ternary.
    std::vector<std::int64_t> u(n), e1(n);
    math::sample_ternary(prng, u.data(), n);
    math::sample_gaussian(prng, e1.data(), n);
    math::RnsPoly c1(n, limbs);
    ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
      const math::Modulus& q = ctx_->modulus(t);
      const auto& tables = ctx_->ntt(t);
      math::RnsPoly ut_buf(n, 1);
      std::uint64_t* ut = ut_buf.data();
      small_to_limb(u.data(), ut, n, q.value());
      math::ntt_forward(ut, tables);
      std::uint64_t* d0 = c0.limb(t);
      std::uint64_t* d1 = c1.limb(t);
      small_to_limb(e0.data(), d0, n, q.value());
      small_to_limb(e1.data(), d1, n, q.value());
      math::ntt_forward(d0, tables);
      math::ntt_forward(d1, tables);
      math::kernels::mul_add(pk_->b.limb(t), ut, d0, n, q);
      math::kernels::add(d0, pt.poly().limb(t), d0, n, q);
      math::kernels::mul_add(pk_->a.limb(t), ut, d1, n, q);
      ut_buf.wipe();  // the ephemeral u decrypts this ciphertext
    });
    wipe(u);
    wipe(e1);
    wipe(e0);
    std::vector<math::RnsPoly> parts;
    parts.push_back(std::move(c0));
    parts.push_back(std::move(c1));
    return Ciphertext(std::move(parts), pt.scale(), ctx_->fingerprint());
  }
  // Secret key: c1 = a from a fresh seed, c0 = -a s + e + m.
  const math::Seed seed = math::random_seed();
  std::vector<std::size_t> idx(limbs);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  math::RnsPoly c1 = expand_uniform(*ctx_, seed, kCiphertextDomain, idx);
  // Per limb: NTT(e) lazily, then one fused pass NTT(e) + m - a s (no a s buffer to wipe).
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    std::uint64_t* d0 = c0.limb(t);
    small_to_limb(e0.data(), d0, n, q.value());
    math::ntt_forward_lazy(d0, ctx_->ntt(t));
    math::kernels::add_sub_mul_lazy(d0, pt.poly().limb(t), c1.limb(t), sk_->poly().limb(t), d0, n, q);
  });
  wipe(e0);
  std::vector<math::RnsPoly> parts;
  parts.push_back(std::move(c0));
  parts.push_back(std::move(c1));
  Ciphertext ct(std::move(parts), pt.scale(), ctx_->fingerprint());
  ct.set_seed(seed);
  return ct;
}

}  // namespace cryptounet::ckks
