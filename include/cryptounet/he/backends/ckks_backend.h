// The real backend of the encrypted executor: the CKKS engine's Evaluator and Encoder behind the
// same narrow interface as the slot simulator (HeBackend, backends/backend.h). Server side: it
// holds only public evaluation keys. Also the bridge from a Plan to engine parameters. The
// client side (encrypt, decrypt) is workflow/client.h.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/ckks/params.h"
#include "cryptounet/ckks/plaintext.h"
#include "cryptounet/he/backends/const_product.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

struct Plan;

/// The engine parameters a plan asks for (security flag included).
[[nodiscard]] ckks::ParamsLiteral params_literal(const Plan& plan);

class CkksBackend {
 public:
  using Ct = ckks::Ciphertext;
  using Pt = ckks::Plaintext;

  /// `keys` must outlive the backend and hold the relinearisation key and the plan's Galois keys.
  CkksBackend(std::shared_ptr<const ckks::Context> ctx, const ckks::EvaluationKeys* keys);

  [[nodiscard]] int slots() const { return static_cast<int>(ctx_->params().slots()); }
  [[nodiscard]] int max_level() const { return ctx_->max_level(); }
  [[nodiscard]] double modulus(int level) const {
    return static_cast<double>(ctx_->params().q().at(level));
  }
  [[nodiscard]] double default_scale() const { return ctx_->params().default_scale(); }
  [[nodiscard]] static int level(const Ct& ct) { return ct.level(); }
  [[nodiscard]] static double scale(const Ct& ct) { return ct.scale(); }

  [[nodiscard]] Pt encode(std::span<const double> values, int level, double scale);
  [[nodiscard]] Ct mul_plain(const Ct& ct, const Pt& pt);
  void mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt);
  [[nodiscard]] Ct mul_const(const Ct& ct, double c, double const_scale);
  void mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale);
  /// Every constant product of `terms` at once: outs[t.out] += ins[t.in] * t.c; an empty output
  /// starts at zero and takes its terms' level and scale.
  void mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                            std::span<const ConstProduct> terms);
  void add_inplace(Ct& acc, const Ct& ct);
  void add_plain_inplace(Ct& acc, const Pt& pt);
  void add_const_inplace(Ct& acc, double c);
  [[nodiscard]] Ct square_relin(const Ct& ct);
  void rescale_inplace(Ct& ct);
  void drop_level_inplace(Ct& ct, int level);
  /// Relabels the scale, values unchanged (the executor reconciles near-equal scales with it).
  void set_scale(Ct& ct, double scale) const { ct.set_scale(scale); }
  [[nodiscard]] Ct rotate(const Ct& ct, int step);
  struct RotSum {
    ckks::RotationSum sum;
    int terms = 0;
  };
  void rotate_add(RotSum& s, const Ct& ct, int step);
  [[nodiscard]] Ct finish_sum(RotSum& s);
  [[nodiscard]] std::vector<Ct> rotate_hoisted(const Ct& ct, std::span<const int> steps);

 private:
  std::shared_ptr<const ckks::Context> ctx_;
  ckks::Encoder encoder_;
  ckks::Evaluator eval_;
};

}  // namespace cryptounet::nn
