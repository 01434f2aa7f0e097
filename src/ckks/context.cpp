#include "cryptounet/ckks/context.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/automorphism.h"

namespace cryptounet::ckks {

std::shared_ptr<const Context> Context::create(const Params& params, const ExecOptions& exec) {
  return std::make_shared<const Context>(params, exec);
}

Context::Context(const Params& params, const ExecOptions& exec)
    : params_(params), pool_(std::make_unique<math::ThreadPool>(exec.threads)) {
  const std::size_t n = params_.n();
  const std::size_t nq = q_count(), np = p_count();
  for (auto q : params_.q()) moduli_.emplace_back(q);
  for (auto p : params_.p()) moduli_.emplace_back(p);
  ntt_.reserve(moduli_.size());
  for (const auto& m : moduli_) ntt_.emplace_back(n, m);

  // ModUp converters: digit j, first `limbs` primes of it -> every QP prime.
  mod_up_.resize(static_cast<std::size_t>(dnum()));
  for (int j = 0; j < dnum(); ++j) {
    const std::size_t b = digit_begin(j), e = digit_end(j);
    for (std::size_t m = 1; m <= e - b; ++m) {
      std::vector<math::Modulus> in(moduli_.begin() + static_cast<std::ptrdiff_t>(b),
                                    moduli_.begin() + static_cast<std::ptrdiff_t>(b + m));
      mod_up_[static_cast<std::size_t>(j)].emplace_back(math::RnsBasis(std::move(in)), moduli_);
    }
  }
  // ModDown: P -> Q, and P^-1 mod q_i.
  std::vector<math::Modulus> pm(moduli_.begin() + static_cast<std::ptrdiff_t>(nq), moduli_.end());
  std::vector<math::Modulus> qm(moduli_.begin(), moduli_.begin() + static_cast<std::ptrdiff_t>(nq));
  mod_down_ = math::BaseConverter(math::RnsBasis(pm), qm);
  for (std::size_t i = 0; i < nq; ++i) {
    std::uint64_t pmod = 1;
    for (std::size_t k = 0; k < np; ++k) pmod = math::mul_mod(pmod, qm[i].reduce(pm[k].value()), qm[i]);
    p_mod_q_.push_back(pmod);
    p_inv_mod_q_.push_back(math::make_shoup(math::inv_mod(pmod, qm[i]), qm[i]));
  }
  // Rescale constants q_l^-1 mod q_i.
  q_inv_mod_q_.resize(nq * nq);
  for (std::size_t l = 1; l < nq; ++l)
    for (std::size_t i = 0; i < l; ++i)
      q_inv_mod_q_[l * nq + i] = math::make_shoup(math::inv_mod(qm[i].reduce(qm[l].value()), qm[i]), qm[i]);
  for (std::size_t l = 0; l < nq; ++l)
    q_bases_.emplace_back(std::vector<math::Modulus>(qm.begin(), qm.begin() + static_cast<std::ptrdiff_t>(l + 1)));
}

const math::RnsBasis& Context::q_basis(int level) const {
  if (level < 0 || static_cast<std::size_t>(level) >= q_bases_.size())
    throw InvalidArgument("Context::q_basis: level " + std::to_string(level) + " outside [0, " +
                          std::to_string(q_bases_.size()) + ")");
  return q_bases_[static_cast<std::size_t>(level)];
}

bool scale_in_range(const Context& ctx, int level, double scale) {
  if (level < 0 || level > ctx.max_level()) return false;
  return std::isfinite(scale) && scale >= 1.0 && std::log2(scale) <= ctx.params().log_qp();
}

std::size_t Context::digit_begin(int j) const { return static_cast<std::size_t>(j * params_.digit_size()); }

std::size_t Context::digit_end(int j) const {
  return std::min(q_count(), static_cast<std::size_t>((j + 1) * params_.digit_size()));
}

const math::BaseConverter& Context::mod_up_converter(int j, std::size_t limbs) const {
  return mod_up_[static_cast<std::size_t>(j)][limbs - 1];
}

const std::vector<std::uint32_t>& Context::galois_permutation(std::uint64_t g) const {
  std::lock_guard<std::mutex> lock(galois_mutex_);
  auto it = galois_cache_.find(g);
  if (it == galois_cache_.end()) {
    if ((g & 1) == 0 || g >= 2 * n())
      throw InvalidArgument("galois_permutation: element " + std::to_string(g) + " is not odd in [1, 2N)");
    it = galois_cache_
             .emplace(g, std::make_unique<const std::vector<std::uint32_t>>(math::automorphism_ntt_permutation(n(), g)))
             .first;
  }
  return *it->second;
}

}  // namespace cryptounet::ckks
