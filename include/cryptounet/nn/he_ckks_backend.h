// The real HE backend of the encrypted executor: the SimBackend's interface (he_sim_backend.h)
// on the CKKS engine (ckks::Evaluator + ckks::Encoder), counting the same events, so a real run
// reports the operation counts the plan predicted. Server side: it holds evaluation keys only.
// Work inside each operation is spread over the context's thread pool (ExecOptions::threads).
// Not thread-safe (counts are plain integers); use one per run.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/ckks/plaintext.h"
#include "cryptounet/nn/he_counts.h"
#include "cryptounet/nn/planner.h"

namespace cryptounet::nn {

class CkksBackend {
 public:
  /// add_inplace aligns scales that differ by less than this (relative) by relabelling the
  /// addend (see there); the engine refuses anything larger.
  static constexpr double kScaleRelabelTolerance = 1e-5;

  using Ct = ckks::Ciphertext;
  using Pt = ckks::Plaintext;

  /// `keys` must outlive the backend (may be null: then rotations and squares throw).
  CkksBackend(std::shared_ptr<const ckks::Context> ctx, const ckks::EvaluationKeys* keys);

  [[nodiscard]] int slots() const { return static_cast<int>(ctx_->params().slots()); }
  [[nodiscard]] int max_level() const { return ctx_->max_level(); }
  [[nodiscard]] double modulus(int level) const;
  [[nodiscard]] double default_scale() const { return ctx_->params().default_scale(); }
  [[nodiscard]] static int level(const Ct& ct) { return ct.level(); }
  [[nodiscard]] static double scale(const Ct& ct) { return ct.scale(); }

  // Server side: the engine's verbs, each counted as SimBackend counts them.
  [[nodiscard]] Pt encode(std::span<const double> values, int level, double scale);
  [[nodiscard]] Ct mul_plain(const Ct& ct, const Pt& pt);
  void mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt);
  [[nodiscard]] Ct mul_const(const Ct& ct, double c, double const_scale);
  void mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale);
  void add_inplace(Ct& acc, const Ct& ct);
  void add_plain_inplace(Ct& acc, const Pt& pt);
  void add_const_inplace(Ct& acc, double c);
  [[nodiscard]] Ct square_relin(const Ct& ct);
  void rescale_inplace(Ct& ct);
  void drop_level_inplace(Ct& ct, int level);
  [[nodiscard]] Ct rotate(const Ct& ct, int step);
  [[nodiscard]] std::vector<Ct> rotate_hoisted(const Ct& ct, std::span<const int> steps);

  [[nodiscard]] const OpCounts& counts() const { return counts_; }
  void reset_counts() { counts_ = {}; }
  [[nodiscard]] const ckks::Context& context() const { return *ctx_; }

 private:
  std::shared_ptr<const ckks::Context> ctx_;
  ckks::Encoder encoder_;
  ckks::Evaluator evaluator_;
  OpCounts counts_;
};

/// Checks that `keys` can run `plan`: a relinearisation key if the plan squares, and a Galois
/// key for every rotation step of the plan. Throws InvalidArgument naming the first missing
/// step and how many are missing.
void check_evaluation_keys(const ckks::Context& ctx, const Plan& plan, const ckks::EvaluationKeys& keys);

}  // namespace cryptounet::nn
