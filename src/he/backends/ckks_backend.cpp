#include "cryptounet/he/backends/ckks_backend.h"

#include <cmath>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/packing/masks.h"

namespace cryptounet::nn {

ckks::ParamsLiteral params_literal(const Plan& plan) {
  ckks::ParamsLiteral lit;
  lit.log_n = plan.log_n;
  lit.log_q = plan.log_q;
  lit.log_p = plan.log_p;
  lit.log_scale = plan.log_scale;
  lit.dnum = plan.dnum;
  lit.security = plan.insecure_for_tests ? ckks::Security::insecure_for_tests
                                         : ckks::Security::bits128;
  return lit;
}

namespace {

void check_context(const char* op, const ckks::Context& ctx, const Plan& plan) {
  const ckks::Params& p = ctx.params();
  if (p.log_n() != plan.log_n || p.max_level() + 1 != static_cast<int>(plan.log_q.size()) ||
      p.log_scale() != plan.log_scale)
    throw InvalidArgument(std::string(op) + ": the CKKS context (N=2^" + std::to_string(p.log_n()) +
                          ", " + std::to_string(p.max_level() + 1) +
                          " Q primes) was not made for this plan (N=2^" +
                          std::to_string(plan.log_n) + ", " + std::to_string(plan.log_q.size()) +
                          " Q primes)");
}

}  // namespace

std::vector<ckks::Ciphertext> encrypt_input(const std::shared_ptr<const ckks::Context>& ctx,
                                            const ckks::Encryptor& encryptor, const Plan& plan,
                                            const std::vector<Tensor>& images) {
  check_context("encrypt_input", *ctx, plan);
  ckks::Encoder enc(ctx);
  std::vector<ckks::Ciphertext> cts;
  for (const auto& s : input_slots(plan, images))
    cts.push_back(encryptor.encrypt(enc.encode(s, plan.input_level, ctx->params().default_scale())));
  return cts;
}

std::vector<Tensor> decrypt_output(const std::shared_ptr<const ckks::Context>& ctx,
                                   const ckks::Decryptor& decryptor, const Plan& plan,
                                   const std::vector<ckks::Ciphertext>& cts) {
  check_context("decrypt_output", *ctx, plan);
  ckks::Encoder enc(ctx);
  std::vector<std::vector<double>> slots;
  for (const auto& ct : cts) slots.push_back(enc.decode_real(decryptor.decrypt(ct)));
  return output_tensors(plan, slots);
}

CkksBackend::CkksBackend(std::shared_ptr<const ckks::Context> ctx,
                         const ckks::EvaluationKeys* keys)
    : ctx_(ctx), encoder_(ctx), eval_(ctx, keys) {}

CkksBackend::Pt CkksBackend::encode(std::span<const double> values, int level, double scale) {
  ++counts_.encodings;
  return encoder_.encode(values, level, scale);
}

CkksBackend::Ct CkksBackend::mul_plain(const Ct& ct, const Pt& pt) {
  ++counts_.pt_products;
  return eval_.mul_plain(ct, pt);
}

void CkksBackend::mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt) {
  ++counts_.pt_products;
  eval_.mul_plain_add_inplace(acc, ct, pt);
}

CkksBackend::Ct CkksBackend::mul_const(const Ct& ct, double c, double const_scale) {
  ++counts_.scalar_products;
  return eval_.mul_const(ct, c, const_scale);
}

void CkksBackend::mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale) {
  ++counts_.scalar_products;
  eval_.mul_const_add_inplace(acc, ct, c, const_scale);
}

void CkksBackend::mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                                       std::span<const ConstProduct> terms) {
  std::vector<ckks::Evaluator::ConstTerm> t(terms.size());
  for (std::size_t m = 0; m < terms.size(); ++m)
    t[m] = {terms[m].out, terms[m].in, terms[m].c, terms[m].const_scale};
  eval_.mul_const_accumulate(outs, ins, t);
  counts_.scalar_products += static_cast<long>(terms.size());
}

void CkksBackend::add_inplace(Ct& acc, const Ct& ct) {
  ++counts_.adds;
  // A squared tensor carries scale D^2/q (q a prime near D = 2^log_scale), not exactly D; adding
  // it to one at D (a residual Add after a Square, as in tests/fixtures/random_ops.onnx) is off by
  // |D/q - 1|, about 1e-7. Relabelling the addend's scale costs a relative error of that size in
  // its values, far below the CKKS noise; a larger mismatch still throws in the engine.
  const double rel = std::abs(ct.scale() / acc.scale() - 1.0);
  if (rel > 1e-9 && rel < 1e-5) {
    Ct relabelled = ct;
    relabelled.set_scale(acc.scale());
    eval_.add_inplace(acc, relabelled);
    return;
  }
  eval_.add_inplace(acc, ct);
}

void CkksBackend::add_plain_inplace(Ct& acc, const Pt& pt) {
  ++counts_.adds;
  eval_.add_inplace(acc, pt);
}

void CkksBackend::add_const_inplace(Ct& acc, double c) {
  ++counts_.adds;
  eval_.add_const_inplace(acc, c);
}

CkksBackend::Ct CkksBackend::square_relin(const Ct& ct) {
  ++counts_.relins;
  return eval_.square_relin(ct);
}

void CkksBackend::rescale_inplace(Ct& ct) {
  ++counts_.rescales;
  eval_.rescale_inplace(ct);
}

void CkksBackend::drop_level_inplace(Ct& ct, int level) {
  if (level == ct.level()) return;
  ++counts_.level_drops;
  eval_.drop_level_inplace(ct, level);
}

CkksBackend::Ct CkksBackend::rotate(const Ct& ct, int step) {
  ++counts_.rotations;
  steps_.insert(packing::normalize_step(step, slots()));
  return eval_.rotate(ct, step);
}

std::vector<CkksBackend::Ct> CkksBackend::rotate_hoisted(const Ct& ct, std::span<const int> steps) {
  if (steps.empty()) return {};
  ++counts_.hoisted_groups;
  counts_.rotations += static_cast<long>(steps.size());
  counts_.hoisted_rotations += static_cast<long>(steps.size());
  for (int s : steps) steps_.insert(packing::normalize_step(s, slots()));
  return eval_.rotate_hoisted(ct, steps);
}

}  // namespace cryptounet::nn
