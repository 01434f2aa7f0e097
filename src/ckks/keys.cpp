#include "cryptounet/ckks/keys.h"

#include "cryptounet/ckks/context.h"
#include "cryptounet/math/sampler.h"

namespace cryptounet::ckks {

math::RnsPoly expand_uniform(const Context& ctx, const math::Seed& seed, std::uint64_t domain,
                             std::span<const std::size_t> qp_indices) {
  const std::size_t n = ctx.n();
  math::RnsPoly out(n, qp_indices.size());
  ctx.pool().parallel_for(0, qp_indices.size(), [&](std::size_t t) {
    math::Prng prng(seed, domain + qp_indices[t]);
    math::sample_uniform(prng, ctx.modulus(qp_indices[t]), out.limb(t), n);
  });
  return out;
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    s_.wipe();
    s_ = std::move(other.s_);
    fingerprint_ = other.fingerprint_;
  }
  return *this;
}

SecretKey::~SecretKey() { s_.wipe(); }

}  // namespace cryptounet::ckks
