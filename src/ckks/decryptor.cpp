#include "cryptounet/ckks/decryptor.h"

#include <string>
#include <vector>

#include "cryptounet/common/error.h"
#include "cryptounet/math/poly_kernels.h"

namespace cryptounet::ckks {

Decryptor::Decryptor(std::shared_ptr<const Context> ctx, const SecretKey& sk) : ctx_(std::move(ctx)), sk_(sk.clone()) {
  if (!ctx_) throw InvalidArgument("Decryptor: null context");
  if (sk.fingerprint() != ctx_->fingerprint() || sk.poly().limbs() != ctx_->q_count() + ctx_->p_count())
    throw InvalidArgument("Decryptor: secret key belongs to other parameters");
}

Plaintext Decryptor::decrypt(const Ciphertext& ct) const {
  if (ct.level() < 0) throw InvalidArgument("decrypt: empty ciphertext");
  if (ct.fingerprint() != ctx_->fingerprint()) throw InvalidArgument("decrypt: ciphertext belongs to other parameters");
  if (ct.size() != 2 && ct.size() != 3)
    throw InvalidArgument("decrypt: ciphertext size " + std::to_string(ct.size()) + " is not 2 or 3");
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(ct.level()) + 1;
  math::RnsPoly m(n, limbs);
  ctx_->pool().parallel_for(0, limbs, [&](std::size_t t) {
    const math::Modulus& q = ctx_->modulus(t);
    const std::uint64_t* s = sk_.poly().limb(t);
    std::uint64_t* d = m.limb(t);
    if (ct.size() == 3) {
      // Horner: (c2 s + c1) s + c0.
      math::kernels::mul(ct.part(2).limb(t), s, d, n, q);
      math::kernels::add(d, ct.part(1).limb(t), d, n, q);
      math::kernels::mul(d, s, d, n, q);
    } else {
      math::kernels::mul(ct.part(1).limb(t), s, d, n, q);
    }
    math::kernels::add(d, ct.part(0).limb(t), d, n, q);
  });
  return Plaintext(std::move(m), ct.scale(), ctx_->fingerprint());
}

}  // namespace cryptounet::ckks
