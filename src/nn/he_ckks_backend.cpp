#include "cryptounet/nn/he_ckks_backend.h"

#include <cmath>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/automorphism.h"
#include "nn/he_exec_impl.h"

namespace cryptounet::nn {

CkksBackend::CkksBackend(std::shared_ptr<const ckks::Context> ctx, const ckks::EvaluationKeys* keys)
    : ctx_(std::move(ctx)), encoder_(ctx_), evaluator_(ctx_, keys) {}

double CkksBackend::modulus(int level) const {
  return static_cast<double>(ctx_->params().q().at(static_cast<std::size_t>(level)));
}

CkksBackend::Pt CkksBackend::encode(std::span<const double> values, int level, double scale) {
  ++counts_.encodings;
  return encoder_.encode(values, level, scale);
}

CkksBackend::Ct CkksBackend::mul_plain(const Ct& ct, const Pt& pt) {
  ++counts_.pt_products;
  return evaluator_.mul_plain(ct, pt);
}

void CkksBackend::mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt) {
  ++counts_.pt_products;
  evaluator_.mul_plain_add_inplace(acc, ct, pt);
}

CkksBackend::Ct CkksBackend::mul_const(const Ct& ct, double c, double const_scale) {
  ++counts_.scalar_products;
  return evaluator_.mul_const(ct, c, const_scale);
}

void CkksBackend::mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale) {
  ++counts_.scalar_products;
  evaluator_.mul_const_add_inplace(acc, ct, c, const_scale);
}

void CkksBackend::add_inplace(Ct& acc, const Ct& ct) {
  ++counts_.adds;
  // A squared tensor carries scale D^2/q (q a prime near D = 2^log_scale), not exactly D; adding it
  // to one at D (a residual Add after a Square) is off by |D/q - 1|, about 1e-7. Relabelling the
  // addend's scale costs a relative error of that size in its values, far below CKKS noise at
  // 1e-3 of the logits; any larger mismatch still throws in the engine.
  const double rel = std::abs(ct.scale() / acc.scale() - 1.0);
  if (rel > 1e-9 && rel < kScaleRelabelTolerance) {
    Ct relabelled = ct;
    relabelled.set_scale(acc.scale());
    evaluator_.add_inplace(acc, relabelled);
    return;
  }
  evaluator_.add_inplace(acc, ct);
}

void CkksBackend::add_plain_inplace(Ct& acc, const Pt& pt) {
  ++counts_.adds;
  evaluator_.add_inplace(acc, pt);
}

void CkksBackend::add_const_inplace(Ct& acc, double c) {
  ++counts_.adds;
  evaluator_.add_const_inplace(acc, c);
}

CkksBackend::Ct CkksBackend::square_relin(const Ct& ct) {
  ++counts_.relins;
  return evaluator_.square_relin(ct);
}

void CkksBackend::rescale_inplace(Ct& ct) {
  ++counts_.rescales;
  evaluator_.rescale_inplace(ct);
}

void CkksBackend::drop_level_inplace(Ct& ct, int level) {
  if (level == ct.level()) return;
  ++counts_.level_drops;
  evaluator_.drop_level_inplace(ct, level);
}

CkksBackend::Ct CkksBackend::rotate(const Ct& ct, int step) {
  ++counts_.rotations;
  return evaluator_.rotate(ct, step);
}

std::vector<CkksBackend::Ct> CkksBackend::rotate_hoisted(const Ct& ct, std::span<const int> steps) {
  if (steps.empty()) return {};
  ++counts_.hoisted_groups;
  counts_.rotations += static_cast<long>(steps.size());
  counts_.hoisted_rotations += static_cast<long>(steps.size());
  return evaluator_.rotate_hoisted(ct, steps);
}

void check_evaluation_keys(const ckks::Context& ctx, const Plan& plan, const ckks::EvaluationKeys& keys) {
  if (plan.total.relins > 0 && keys.relin.empty())
    throw InvalidArgument("evaluation keys: no relinearisation key, and the plan squares " +
                          std::to_string(plan.total.relins) + " times");
  int missing = 0;
  int first = 0;
  for (int step : plan.rotation_steps) {
    if (keys.galois.find(math::galois_element_for_step(ctx.n(), step)) == nullptr) {
      if (missing++ == 0) first = step;
    }
  }
  if (missing > 0)
    throw InvalidArgument("evaluation keys: no Galois key for rotation step " + std::to_string(first) +
                          (missing > 1 ? " (and " + std::to_string(missing - 1) + " more)" : "") + " of the " +
                          std::to_string(plan.rotation_steps.size()) +
                          " steps the plan needs; make the keys with `cryptounet keygen` for this plan");
}

template HeTensor<CkksBackend::Ct> run_encrypted<CkksBackend>(CkksBackend&, const Graph&, const Plan&,
                                                              std::vector<CkksBackend::Ct>, ExecReport*,
                                                              const RunOptions&);

}  // namespace cryptounet::nn
