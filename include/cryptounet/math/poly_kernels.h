// The polynomial kernels every CKKS operation is built from, as free functions on limb spans
// (n words mod one prime, values in [0, q)). NTT (ntt.h), base conversion (rns.h) and the
// automorphism permutation (automorphism.h) complete the set. ckks/ calls only these for
// per-coefficient work, so a GPU backend can replace this file's implementation in one place.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cryptounet/math/modarith.h"
#include "cryptounet/math/modulus.h"

namespace cryptounet::math::kernels {

/// out = a + b.
void add(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = a - b.
void sub(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = -a.
void negate(const std::uint64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = a * b (element-wise, Barrett).
void mul(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = b + c - x * y for b in [0, 4q) (a lazy NTT output) and c, x, y in [0, q); out in [0, q) and
/// may alias b. (Secret-key encryption: NTT(e) + m - a s.)
void add_sub_mul_lazy(const std::uint64_t* b, const std::uint64_t* c, const std::uint64_t* x, const std::uint64_t* y,
                      std::uint64_t* out, std::size_t n, const Modulus& q);
/// acc += a * b.
void mul_add(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* acc, std::size_t n, const Modulus& q);
/// out = a * w (Shoup).
void mul_scalar(const std::uint64_t* a, const ShoupOperand& w, std::uint64_t* out, std::size_t n, const Modulus& q);
/// acc += a * w (Shoup).
void mul_scalar_add(const std::uint64_t* a, const ShoupOperand& w, std::uint64_t* acc, std::size_t n, const Modulus& q);
/// out = (a - b + c) * w for a in [0, q), b in [0, 4q) (a lazy NTT output), c in [0, q); out in
/// [0, q). out may alias a or b. (The last step of a rescale.)
void sub_lazy_add_mul_scalar(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t c, const ShoupOperand& w,
                             std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = a + c.
void add_scalar(const std::uint64_t* a, std::uint64_t c, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out[i] = a[perm[i]]. Precondition: out != a.
void permute(const std::uint64_t* a, const std::uint32_t* perm, std::uint64_t* out, std::size_t n);
/// out[i] = x[i] mod q in [0, q) for signed x[i] with |x[i]| < 2^52 (floating-point quotient,
/// vectorised; used to encode).
void reduce_signed52(const std::int64_t* x, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out[i] = x[i] mod q for x[i] < 2^64 (Barrett).
void reduce(const std::uint64_t* x, std::uint64_t* out, std::size_t n, const Modulus& q);
/// Key-switching inner product for one limb: out0 = sum_j a[j]*b0[j], out1 = sum_j a[j]*b1[j]
/// (j < count), with products accumulated in 128 bits and reduced once per 8 terms. If perm is
/// non-null, a[j] is read through it: a[j][perm[i]] (hoisted rotations).
void dot2(const std::uint64_t* const* a, const std::uint64_t* const* b0, const std::uint64_t* const* b1,
          std::size_t count, const std::uint32_t* perm, std::uint64_t* out0, std::uint64_t* out1,
          std::size_t n, const Modulus& q);

}  // namespace cryptounet::math::kernels
