// The real backend of the encrypted executor: the CKKS engine's Evaluator and Encoder behind the
// same narrow interface as the slot simulator, counting the same operations. Server side: it
// holds only public evaluation keys. Also the bridge from a Plan to engine parameters.
#pragma once

#include <memory>
#include <set>
#include <span>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/ckks/params.h"
#include "cryptounet/ckks/plaintext.h"
#include "cryptounet/he/backends/const_product.h"
#include "cryptounet/he/op_counts.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

struct Plan;

/// The engine parameters a plan asks for (security flag included).
[[nodiscard]] ckks::ParamsLiteral params_literal(const Plan& plan);

/// Client side: encodes and encrypts `images` (plan.batch of them) in the plan's input layout,
/// at the plan's input level and the default scale. Throws InvalidArgument on a shape mismatch
/// or a context made for other parameters.
[[nodiscard]] std::vector<ckks::Ciphertext> encrypt_input(const std::shared_ptr<const ckks::Context>& ctx,
                                                          const ckks::Encryptor& encryptor,
                                                          const Plan& plan,
                                                          const std::vector<Tensor>& images);
/// Client side: decrypts and decodes the output ciphertexts into one logits tensor per image.
[[nodiscard]] std::vector<Tensor> decrypt_output(const std::shared_ptr<const ckks::Context>& ctx,
                                                 const ckks::Decryptor& decryptor,
                                                 const Plan& plan,
                                                 const std::vector<ckks::Ciphertext>& cts);

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
  /// starts at zero and takes its terms' level and scale. Counts one scalar product per term.
  void mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                            std::span<const ConstProduct> terms);
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
  [[nodiscard]] const std::set<int>& steps_used() const { return steps_; }

 private:
  std::shared_ptr<const ckks::Context> ctx_;
  ckks::Encoder encoder_;
  ckks::Evaluator eval_;
  OpCounts counts_;
  std::set<int> steps_;
};

}  // namespace cryptounet::nn
