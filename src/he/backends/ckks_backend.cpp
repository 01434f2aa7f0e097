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

CkksBackend::CkksBackend(std::shared_ptr<const ckks::Context> ctx,
                         const ckks::EvaluationKeys* keys)
    : ctx_(ctx), encoder_(ctx), eval_(ctx, keys) {}

CkksBackend::Pt CkksBackend::encode(std::span<const double> values, int level, double scale) {
  return encoder_.encode(values, level, scale);
}

CkksBackend::Ct CkksBackend::mul_plain(const Ct& ct, const Pt& pt) {
  return eval_.mul_plain(ct, pt);
}

void CkksBackend::mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt) {
  eval_.mul_plain_add_inplace(acc, ct, pt);
}

CkksBackend::Ct CkksBackend::mul_const(const Ct& ct, double c, double const_scale) {
  return eval_.mul_const(ct, c, const_scale);
}

void CkksBackend::mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale) {
  eval_.mul_const_add_inplace(acc, ct, c, const_scale);
}

void CkksBackend::mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                                       std::span<const ConstProduct> terms) {
  std::vector<ckks::Evaluator::ConstTerm> t(terms.size());
  for (std::size_t m = 0; m < terms.size(); ++m)
    t[m] = {terms[m].out, terms[m].in, terms[m].c, terms[m].const_scale};
  eval_.mul_const_accumulate(outs, ins, t);
}

void CkksBackend::add_inplace(Ct& acc, const Ct& ct) { eval_.add_inplace(acc, ct); }

void CkksBackend::add_plain_inplace(Ct& acc, const Pt& pt) {
  eval_.add_inplace(acc, pt);
}

void CkksBackend::add_const_inplace(Ct& acc, double c) {
  eval_.add_const_inplace(acc, c);
}

CkksBackend::Ct CkksBackend::square_relin(const Ct& ct) {
  return eval_.square_relin(ct);
}

void CkksBackend::rescale_inplace(Ct& ct) {
  eval_.rescale_inplace(ct);
}

void CkksBackend::drop_level_inplace(Ct& ct, int level) {
  if (level == ct.level()) return;
  eval_.drop_level_inplace(ct, level);
}

CkksBackend::Ct CkksBackend::rotate(const Ct& ct, int step) {
  return eval_.rotate(ct, step);
}

void CkksBackend::rotate_add(RotSum& s, const Ct& ct, int step) {
  eval_.rotate_add(s.sum, ct, step);
  ++s.terms;
}

CkksBackend::Ct CkksBackend::finish_sum(RotSum& s) {
  Ct r = eval_.finish_sum(s.sum);
  s.terms = 0;
  return r;
}

std::vector<CkksBackend::Ct> CkksBackend::rotate_hoisted(const Ct& ct, std::span<const int> steps) {
  if (steps.empty()) return {};
  return eval_.rotate_hoisted(ct, steps);
}

}  // namespace cryptounet::nn
