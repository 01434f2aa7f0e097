#include "cryptounet/math/modarith.h"

#include <string>

#include "cryptounet/common/error.h"

namespace cryptounet::math {

std::uint64_t pow_mod(std::uint64_t base, std::uint64_t exp, const Modulus& q) {
  std::uint64_t result = q.reduce(1);
  base = q.reduce(base);
  while (exp) {
    if (exp & 1) result = mul_mod(result, base, q);
    base = mul_mod(base, base, q);
    exp >>= 1;
  }
  return result;
}

std::uint64_t inv_mod(std::uint64_t a, const Modulus& q) {
  a = q.reduce(a);
  if (a == 0) throw InvalidArgument("inv_mod: 0 has no inverse mod " + std::to_string(q.value()));
  // Extended Euclid (works for any modulus coprime to a).
  __int128 t = 0, new_t = 1;
  __int128 r = q.value(), new_r = a;
  while (new_r != 0) {
    const __int128 quot = r / new_r;
    const __int128 tmp_t = t - quot * new_t;
    t = new_t;
    new_t = tmp_t;
    const __int128 tmp_r = r - quot * new_r;
    r = new_r;
    new_r = tmp_r;
  }
  if (r != 1)
    throw InvalidArgument("inv_mod: " + std::to_string(a) + " is not invertible mod " + std::to_string(q.value()));
  if (t < 0) t += q.value();
  return static_cast<std::uint64_t>(t);
}

}  // namespace cryptounet::math
