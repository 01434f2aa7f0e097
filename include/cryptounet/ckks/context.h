// The immutable, shareable precomputation for one parameter set: NTT tables per prime, the
// base converters for ModUp (per digit and digit length) and ModDown, rescaling and ModDown
// constants, CRT bases for decoding, a Galois-permutation cache and the thread pool. Create it
// once per parameter set: Context::create(params, ExecOptions{}). Thread-safe to share.
//
// Prime indexing ("QP index"): 0..L are the Q primes q_0..q_L, L+1..L+k the special primes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cryptounet/ckks/params.h"
#include "cryptounet/math/modarith.h"
#include "cryptounet/math/modulus.h"
#include "cryptounet/math/ntt.h"
#include "cryptounet/math/parallel.h"
#include "cryptounet/math/rns.h"

namespace cryptounet::ckks {

class Context {
 public:
  /// Cost: O((#Q+#P) N) for the NTT tables plus small CRT tables. Throws what Params throws.
  [[nodiscard]] static std::shared_ptr<const Context> create(const Params& params, const ExecOptions& exec = {});

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] std::size_t n() const { return params_.n(); }
  [[nodiscard]] int max_level() const { return params_.max_level(); }
  [[nodiscard]] std::size_t q_count() const { return params_.q().size(); }
  [[nodiscard]] std::size_t p_count() const { return params_.p().size(); }
  [[nodiscard]] std::uint64_t fingerprint() const { return params_.fingerprint(); }
  [[nodiscard]] const math::Modulus& modulus(std::size_t qp_index) const { return moduli_[qp_index]; }
  [[nodiscard]] const math::NttTables& ntt(std::size_t qp_index) const { return ntt_[qp_index]; }
  [[nodiscard]] math::ThreadPool& pool() const { return *pool_; }

  // --- key switching ---
  [[nodiscard]] int dnum() const { return params_.dnum(); }
  [[nodiscard]] std::size_t digit_begin(int j) const;
  [[nodiscard]] std::size_t digit_end(int j) const;  // exclusive, clipped to #Q
  /// Converter from the first `limbs` primes of digit j to every QP prime (outputs by QP index).
  [[nodiscard]] const math::BaseConverter& mod_up_converter(int j, std::size_t limbs) const;
  /// Converter from P to every Q prime.
  [[nodiscard]] const math::BaseConverter& mod_down_converter() const { return mod_down_; }
  /// P^-1 mod q_i and P mod q_i.
  [[nodiscard]] const math::ShoupOperand& p_inv_mod_q(std::size_t i) const { return p_inv_mod_q_[i]; }
  [[nodiscard]] std::uint64_t p_mod_q(std::size_t i) const { return p_mod_q_[i]; }

  // --- rescaling ---
  /// q_l^-1 mod q_i for i < l.
  [[nodiscard]] const math::ShoupOperand& q_inv_mod_q(std::size_t l, std::size_t i) const {
    return q_inv_mod_q_[l * q_count() + i];
  }

  /// CRT basis of q_0..q_level (for decoding). Throws InvalidArgument for a level outside [0, max_level].
  [[nodiscard]] const math::RnsBasis& q_basis(int level) const;

  /// NTT-domain permutation of the Galois automorphism g (computed once, then cached).
  [[nodiscard]] const std::vector<std::uint32_t>& galois_permutation(std::uint64_t g) const;

  explicit Context(const Params& params, const ExecOptions& exec);  // use create()

 private:
  Params params_;
  std::vector<math::Modulus> moduli_;
  std::vector<math::NttTables> ntt_;
  std::unique_ptr<math::ThreadPool> pool_;
  std::vector<std::vector<math::BaseConverter>> mod_up_;  // [digit][limbs - 1]
  math::BaseConverter mod_down_;
  std::vector<math::ShoupOperand> p_inv_mod_q_;
  std::vector<std::uint64_t> p_mod_q_;
  std::vector<math::ShoupOperand> q_inv_mod_q_;
  std::vector<math::RnsBasis> q_bases_;
  mutable std::mutex galois_mutex_;
  mutable std::map<std::uint64_t, std::unique_ptr<const std::vector<std::uint32_t>>> galois_cache_;
};

/// Whether `scale` is one a ciphertext or plaintext at `level` can carry: finite, at least 1 and
/// at most Q*P (every evaluation stays within that). The readers and Encoder::decode refuse other
/// scales, which a hostile file could use to drive decode's limb count out of range.
[[nodiscard]] bool scale_in_range(const Context& ctx, int level, double scale);

}  // namespace cryptounet::ckks
