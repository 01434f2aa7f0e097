#include "cryptounet/ckks/params.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::ckks {
namespace {

std::uint64_t fnv1a(std::uint64_t h, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string fmt_bits(double b) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed << b;
  return s.str();
}

}  // namespace

double Params::default_scale() const { return std::ldexp(1.0, lit_.log_scale); }

Params Params::from_literal(const ParamsLiteral& lit) {
  const std::string op = "params: ";
  if (lit.log_n < 10 || lit.log_n > 16)
    throw InvalidArgument(op + "log_n=" + std::to_string(lit.log_n) + " outside [10, 16]");
  if (lit.log_q.empty()) throw InvalidArgument(op + "no Q primes (log_q is empty)");
  if (lit.log_p.empty()) throw InvalidArgument(op + "no special primes (log_p is empty); key switching needs P");
  for (std::size_t i = 0; i < lit.log_q.size(); ++i)
    if (lit.log_q[i] < 20 || lit.log_q[i] > 60)
      throw InvalidArgument(op + "log_q[" + std::to_string(i) + "]=" + std::to_string(lit.log_q[i]) +
                            " outside [20, 60]");
  for (std::size_t i = 0; i < lit.log_p.size(); ++i)
    if (lit.log_p[i] < 20 || lit.log_p[i] > 60)
      throw InvalidArgument(op + "log_p[" + std::to_string(i) + "]=" + std::to_string(lit.log_p[i]) +
                            " outside [20, 60]");
  if (lit.log_scale < 10 || lit.log_scale > 60)
    throw InvalidArgument(op + "log_scale=" + std::to_string(lit.log_scale) + " outside [10, 60]");
  const int nq = static_cast<int>(lit.log_q.size());
  const int np = static_cast<int>(lit.log_p.size());
  int dnum = lit.dnum == 0 ? (nq + np - 1) / np : lit.dnum;
  if (dnum < 1 || dnum > nq)
    throw InvalidArgument(op + "dnum=" + std::to_string(lit.dnum) + " outside [1, #Q=" + std::to_string(nq) + "]");

  // Security first: refuse before spending time on primes.
  const bool insecure = lit.security == Security::insecure_for_tests;
  double nominal = 0;
  for (int b : lit.log_q) nominal += b;
  for (int b : lit.log_p) nominal += b;
  if (!insecure) {
    if (lit.log_n < kMinSecureLogN)
      throw SecurityError(op + "N=2^" + std::to_string(lit.log_n) +
                          " is below 2^14 and only for tests; pass Security::insecure_for_tests to use it anyway");
    if (nominal > max_log_qp_128(lit.log_n) + 1)
      throw SecurityError(op + "log2(QP)=" + fmt_bits(nominal) + " exceeds the 128-bit bound " +
                          std::to_string(max_log_qp_128(lit.log_n)) + " for N=2^" + std::to_string(lit.log_n) +
                          " (HE standard, ternary secret); pass Security::insecure_for_tests to use it anyway");
  }

  Params p;
  p.lit_ = lit;
  const std::uint64_t two_n = std::uint64_t{2} << lit.log_n;
  // Group the primes by (bits, kind) and draw each group at once so they are distinct.
  // Kind "near": Q primes (other than q0) of log_scale bits, alternating around 2^log_scale.
  std::vector<std::uint64_t> all;
  std::map<std::pair<int, bool>, std::vector<std::uint64_t>> pools;
  auto want = [&](int bits, bool near) { return std::make_pair(bits, near); };
  std::map<std::pair<int, bool>, std::size_t> counts;
  for (int i = 0; i < nq; ++i) ++counts[want(lit.log_q[i], i > 0 && lit.log_q[i] == lit.log_scale)];
  for (int b : lit.log_p) ++counts[want(b, false)];
  for (const auto& [key, count] : counts) {
    auto ps = math::ntt_primes(key.first, count, two_n, !key.second, all);
    all.insert(all.end(), ps.begin(), ps.end());
    pools[key] = std::move(ps);
  }
  std::map<std::pair<int, bool>, std::size_t> used;
  auto take = [&](int bits, bool near) {
    const auto key = want(bits, near);
    return pools[key][used[key]++];
  };
  for (int i = 0; i < nq; ++i) p.q_.push_back(take(lit.log_q[i], i > 0 && lit.log_q[i] == lit.log_scale));
  for (int b : lit.log_p) p.p_.push_back(take(b, false));
  for (auto q : p.q_) p.log_q_ += std::log2(static_cast<double>(q));
  for (auto q : p.p_) p.log_p_ += std::log2(static_cast<double>(q));
  if (!insecure && p.log_qp() > max_log_qp_128(lit.log_n))
    throw SecurityError(op + "log2(QP)=" + fmt_bits(p.log_qp()) + " exceeds the 128-bit bound " +
                        std::to_string(max_log_qp_128(lit.log_n)) + " for N=2^" + std::to_string(lit.log_n) +
                        " (HE standard, ternary secret); pass Security::insecure_for_tests to use it anyway");

  p.alpha_ = (nq + dnum - 1) / dnum;
  p.dnum_ = (nq + p.alpha_ - 1) / p.alpha_;
  // Key-switching noise grows like (largest digit modulus) / P; refuse a P far too small.
  double max_digit = 0;
  for (int j = 0; j < p.dnum_; ++j) {
    double bits = 0;
    for (int i = j * p.alpha_; i < std::min(nq, (j + 1) * p.alpha_); ++i) bits += std::log2(static_cast<double>(p.q_[i]));
    max_digit = std::max(max_digit, bits);
  }
  if (p.log_p_ + 20 < max_digit)
    throw InvalidArgument(op + "special modulus P (" + fmt_bits(p.log_p_) + " bits) is much smaller than the largest " +
                          "key-switching digit (" + fmt_bits(max_digit) + " bits); add special primes or raise dnum");

  std::uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, static_cast<std::uint64_t>(lit.log_n));
  h = fnv1a(h, p.q_.size());
  for (auto q : p.q_) h = fnv1a(h, q);
  h = fnv1a(h, p.p_.size());
  for (auto q : p.p_) h = fnv1a(h, q);
  h = fnv1a(h, static_cast<std::uint64_t>(lit.log_scale));
  h = fnv1a(h, static_cast<std::uint64_t>(p.dnum_));
  h = fnv1a(h, insecure ? 1 : 0);
  p.fingerprint_ = h;
  return p;
}

namespace presets {

Params P1() {
  return Params::from_literal({.log_n = 14,
                               .log_q = {60, 40, 40, 40, 40, 40},
                               .log_p = {50, 50, 50},
                               .log_scale = 40,
                               .dnum = 2});
}

Params P2() {
  std::vector<int> q = {60};
  q.insert(q.end(), 13, 40);
  return Params::from_literal({.log_n = 15, .log_q = q, .log_p = std::vector<int>(6, 50), .log_scale = 40, .dnum = 2});
}

Params P3() {
  std::vector<int> q = {60};
  q.insert(q.end(), 28, 40);
  return Params::from_literal(
      {.log_n = 16, .log_q = q, .log_p = std::vector<int>(9, 50), .log_scale = 40, .dnum = 3});
}

Params insecure_test(int log_n, int levels, int dnum) {
  std::vector<int> q = {60};
  q.insert(q.end(), static_cast<std::size_t>(levels), 40);
  return Params::from_literal({.log_n = log_n,
                               .log_q = q,
                               .log_p = {60, 60},
                               .log_scale = 40,
                               .dnum = dnum,
                               .security = Security::insecure_for_tests});
}

}  // namespace presets
std::string insecurity_reason(const Params& params) {
  const int log_n = params.log_n();
  if (log_n < kMinSecureLogN)
    return "N=2^" + std::to_string(log_n) + " is below 2^" + std::to_string(kMinSecureLogN) +
           " (test-only ring degree)";
  const int bound = max_log_qp_128(log_n);
  if (bound == 0) return "N=2^" + std::to_string(log_n) + " has no entry in the 128-bit table";
  if (params.log_qp() > bound)
    return "log2(QP)=" + fmt_bits(params.log_qp()) + " exceeds the 128-bit bound " + std::to_string(bound) +
           " for N=2^" + std::to_string(log_n) + " (HE standard, ternary secret)";
  return {};
}

}  // namespace cryptounet::ckks
