// The one place operations are counted (internal to he): a wrapper that forwards every verb of
// an HeBackend to it and counts what was asked, so the simulator and the CKKS engine report the
// same events by construction, and the rotation steps a run needed (the Galois keys it used).
#pragma once

#include <set>
#include <span>
#include <vector>

#include "cryptounet/he/backends/backend.h"
#include "cryptounet/he/op_counts.h"
#include "cryptounet/packing/masks.h"

namespace cryptounet::nn::detail {

template <HeBackend B>
class CountingBackend {
 public:
  using Ct = typename B::Ct;
  using Pt = typename B::Pt;

  explicit CountingBackend(B& backend) : b_(backend) {}

  [[nodiscard]] int slots() const { return b_.slots(); }
  [[nodiscard]] double modulus(int level) const { return b_.modulus(level); }
  [[nodiscard]] double default_scale() const { return b_.default_scale(); }
  [[nodiscard]] static int level(const Ct& ct) { return B::level(ct); }
  [[nodiscard]] static double scale(const Ct& ct) { return B::scale(ct); }

  [[nodiscard]] Pt encode(std::span<const double> values, int level, double scale) {
    Pt pt = b_.encode(values, level, scale);
    ++counts_.encodings;
    return pt;
  }
  [[nodiscard]] Ct mul_plain(const Ct& ct, const Pt& pt) {
    Ct r = b_.mul_plain(ct, pt);
    ++counts_.pt_products;
    return r;
  }
  void mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt) {
    b_.mul_plain_add_inplace(acc, ct, pt);
    ++counts_.pt_products;
  }
  [[nodiscard]] Ct mul_const(const Ct& ct, double c, double const_scale) {
    Ct r = b_.mul_const(ct, c, const_scale);
    ++counts_.scalar_products;
    return r;
  }
  void mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale) {
    b_.mul_const_add_inplace(acc, ct, c, const_scale);
    ++counts_.scalar_products;
  }
  void mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                            std::span<const ConstProduct> terms) {
    b_.mul_const_accumulate(outs, ins, terms);
    counts_.scalar_products += static_cast<long>(terms.size());
  }
  void add_inplace(Ct& acc, const Ct& ct) {
    b_.add_inplace(acc, ct);
    ++counts_.adds;
  }
  void add_plain_inplace(Ct& acc, const Pt& pt) {
    b_.add_plain_inplace(acc, pt);
    ++counts_.adds;
  }
  void add_const_inplace(Ct& acc, double c) {
    b_.add_const_inplace(acc, c);
    ++counts_.adds;
  }
  [[nodiscard]] Ct square_relin(const Ct& ct) {
    Ct r = b_.square_relin(ct);
    ++counts_.relins;
    return r;
  }
  void rescale_inplace(Ct& ct) {
    b_.rescale_inplace(ct);
    ++counts_.rescales;
  }
  /// Dropping to the current level is no operation and is not counted.
  void drop_level_inplace(Ct& ct, int level) {
    if (level == B::level(ct)) return;
    b_.drop_level_inplace(ct, level);
    ++counts_.level_drops;
  }
  void set_scale(Ct& ct, double scale) { b_.set_scale(ct, scale); }
  [[nodiscard]] Ct rotate(const Ct& ct, int step) {
    Ct r = b_.rotate(ct, step);
    ++counts_.rotations;
    steps_.insert(packing::normalize_step(step, slots()));
    return r;
  }
  /// One hoisted group per call with at least one step.
  [[nodiscard]] std::vector<Ct> rotate_hoisted(const Ct& ct, std::span<const int> steps) {
    if (steps.empty()) return {};
    std::vector<Ct> r = b_.rotate_hoisted(ct, steps);
    ++counts_.hoisted_groups;
    counts_.rotations += static_cast<long>(steps.size());
    counts_.hoisted_rotations += static_cast<long>(steps.size());
    for (int s : steps) steps_.insert(packing::normalize_step(s, slots()));
    return r;
  }

  /// Counted as what it replaces: a rotation (step != 0 mod slots) and, after the first term, an addition.
  using RotSum = typename B::RotSum;
  void rotate_add(RotSum& s, const Ct& ct, int step) {
    const bool first = s.terms == 0;
    b_.rotate_add(s, ct, step);
    const int normalized = packing::normalize_step(step, slots());
    if (normalized != 0) {
      ++counts_.rotations;
      steps_.insert(normalized);
    }
    if (!first) ++counts_.adds;
  }
  [[nodiscard]] Ct finish_sum(RotSum& s) { return b_.finish_sum(s); }

  [[nodiscard]] const OpCounts& counts() const { return counts_; }
  /// Normalised rotation steps used so far (the Galois keys the run needed).
  [[nodiscard]] const std::set<int>& steps_used() const { return steps_; }

 private:
  B& b_;
  OpCounts counts_;
  std::set<int> steps_;
};

}  // namespace cryptounet::nn::detail
