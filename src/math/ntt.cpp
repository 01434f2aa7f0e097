#include "cryptounet/math/ntt.h"

#include <bit>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

std::size_t bit_reverse(std::size_t x, int bits) {
  std::size_t r = 0;
  for (int i = 0; i < bits; ++i) {
    r = (r << 1) | (x & 1);
    x >>= 1;
  }
  return r;
}

}  // namespace

NttTables::NttTables(std::size_t n, const Modulus& q) : n_(n), q_(q) {
  if (n < 2 || n > (std::size_t{1} << 17) || (n & (n - 1)))
    throw InvalidArgument("NttTables: n=" + std::to_string(n) + " is not a power of two in [2, 2^17]");
  log_n_ = std::countr_zero(n);
  psi_ = minimal_primitive_root(2 * n, q.value());
  const std::uint64_t psi_inv = inv_mod(psi_, q_);
  roots_.resize(n);
  inv_roots_.resize(n);
  std::uint64_t p = 1, pi = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = bit_reverse(i, log_n_);
    roots_[r] = make_shoup(p, q_);
    inv_roots_[r] = make_shoup(pi, q_);
    p = mul_mod(p, psi_, q_);
    pi = mul_mod(pi, psi_inv, q_);
  }
  const std::uint64_t ninv = inv_mod(n, q_);
  inv_n_ = make_shoup(ninv, q_);
  inv_n_root_ = make_shoup(mul_mod(ninv, inv_roots_[1].value, q_), q_);
}

// Cooley-Tukey layers, m groups of 2t; Harvey's lazy butterfly keeps values in [0, 4q):
//   X' = (X mod 2q) + W*Y (lazy, < 2q), Y' = (X mod 2q) - W*Y + 2q.
void ntt_forward_lazy(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t q = tables.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const ShoupOperand* roots = tables.root_powers();
  std::size_t t = n >> 1;
  for (std::size_t m = 1; m < n; m <<= 1, t >>= 1) {
    if (t >= 4) {
      for (std::size_t i = 0; i < m; ++i) {
        const ShoupOperand w = roots[m + i];
        std::uint64_t* x = a + 2 * i * t;
        std::uint64_t* y = x + t;
        for (std::size_t j = 0; j < t; ++j) {
          std::uint64_t tx = x[j];
          tx -= (tx >= two_q) ? two_q : 0;
          const std::uint64_t ty = mul_shoup_lazy(y[j], w, q);
          x[j] = tx + ty;
          y[j] = tx - ty + two_q;
        }
      }
    } else {
      for (std::size_t i = 0; i < m; ++i) {
        const ShoupOperand w = roots[m + i];
        std::uint64_t* x = a + 2 * i * t;
        std::uint64_t* y = x + t;
        for (std::size_t j = 0; j < t; ++j) {
          std::uint64_t tx = x[j];
          tx -= (tx >= two_q) ? two_q : 0;
          const std::uint64_t ty = mul_shoup_lazy(y[j], w, q);
          x[j] = tx + ty;
          y[j] = tx - ty + two_q;
        }
      }
    }
  }
}

void ntt_forward(std::uint64_t* a, const NttTables& tables) {
  ntt_forward_lazy(a, tables);
  const std::uint64_t q = tables.modulus().value();
  const std::uint64_t two_q = 2 * q;
  for (std::size_t i = 0; i < tables.n(); ++i) {
    std::uint64_t x = a[i];
    x -= (x >= two_q) ? two_q : 0;
    x -= (x >= q) ? q : 0;
    a[i] = x;
  }
}

// Gentleman-Sande layers with inverse twiddles; values stay in [0, 2q). The last layer folds in 1/n.
void ntt_inverse_lazy(std::uint64_t* a, const NttTables& tables) {
  const std::size_t n = tables.n();
  const std::uint64_t q = tables.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const ShoupOperand* roots = tables.inv_root_powers();
  std::size_t t = 1;
  for (std::size_t m = n >> 1; m > 1; m >>= 1, t <<= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const ShoupOperand w = roots[m + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::size_t j = 0; j < t; ++j) {
        const std::uint64_t u = x[j];
        const std::uint64_t v = y[j];
        std::uint64_t s = u + v;
        s -= (s >= two_q) ? two_q : 0;
        x[j] = s;
        y[j] = mul_shoup_lazy(u + two_q - v, w, q);
      }
    }
  }
  // Last layer (m = 1, t = n/2): X' = (u + v)/n, Y' = (u - v) * psi^-br(1) / n.
  const ShoupOperand ninv = tables.inv_n();
  const ShoupOperand nw = tables.inv_n_root();
  const std::size_t h = n >> 1;
  for (std::size_t j = 0; j < h; ++j) {
    const std::uint64_t u = a[j];
    const std::uint64_t v = a[j + h];
    a[j] = mul_shoup_lazy(u + v, ninv, q);
    a[j + h] = mul_shoup_lazy(u + two_q - v, nw, q);
  }
}

void ntt_inverse(std::uint64_t* a, const NttTables& tables) {
  ntt_inverse_lazy(a, tables);
  const std::uint64_t q = tables.modulus().value();
  for (std::size_t i = 0; i < tables.n(); ++i) a[i] -= (a[i] >= q) ? q : 0;
}

}  // namespace cryptounet::math
