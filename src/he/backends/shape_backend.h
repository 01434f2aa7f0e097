// A shape-only HE backend (internal to he): a "ciphertext" is its level and scale, nothing else.
// The planner runs every HE layer on it (through the same layer code the executor runs, wrapped
// in the same CountingBackend) to predict the per-layer operation counts and rotation steps:
// there is no second, hand-written copy of the layers' loops. The layers skip building slot
// values for it (shape_only_backend<B>, backend.h), so planning costs no slot arithmetic.
// It checks levels as the engine does (a plan whose levels do not meet fails at planning time);
// scales are the simulator's and the engine's business.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/backend.h"
#include "cryptounet/he/backends/const_product.h"

namespace cryptounet::nn::detail {

class ShapeBackend {
 public:
  static constexpr bool kShapeOnly = true;
  struct Ct {
    int level = -1;  // -1: no value yet (an accumulator that mul_const_accumulate starts)
    double scale = 0.0;
  };
  struct Pt {
    int level = 0;
    double scale = 1.0;
  };

  /// `moduli` are q_0..q_L (nominal values are enough: only levels are checked).
  ShapeBackend(int slots, std::vector<double> moduli, double default_scale)
      : slots_(slots), q_(std::move(moduli)), default_scale_(default_scale) {}

  [[nodiscard]] int slots() const { return slots_; }
  [[nodiscard]] double modulus(int level) const { return q_.at(level); }
  [[nodiscard]] double default_scale() const { return default_scale_; }
  [[nodiscard]] static int level(const Ct& ct) { return ct.level; }
  [[nodiscard]] static double scale(const Ct& ct) { return ct.scale; }

  /// A fresh input ciphertext.
  [[nodiscard]] Ct input(int level) const { return {level, default_scale_}; }

  [[nodiscard]] Pt encode(std::span<const double>, int level, double scale) { return {level, scale}; }
  [[nodiscard]] Ct mul_plain(const Ct& ct, const Pt& pt) {
    same_level("mul_plain", ct.level, pt.level);
    return {ct.level, ct.scale * pt.scale};
  }
  void mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt) {
    same_level("mul_plain_add", ct.level, pt.level);
    same_level("mul_plain_add", acc.level, ct.level);
  }
  [[nodiscard]] Ct mul_const(const Ct& ct, double, double const_scale) {
    return {ct.level, ct.scale * const_scale};
  }
  void mul_const_add_inplace(Ct& acc, const Ct& ct, double, double) {
    same_level("mul_const_add", acc.level, ct.level);
  }
  void mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                            std::span<const ConstProduct> terms) {
    for (const ConstProduct& t : terms) {
      Ct& acc = *outs[t.out];
      if (acc.level < 0)
        acc = mul_const(*ins[t.in], t.c, t.const_scale);
      else
        mul_const_add_inplace(acc, *ins[t.in], t.c, t.const_scale);
    }
  }
  void add_inplace(Ct& acc, const Ct& ct) { same_level("add", acc.level, ct.level); }
  void add_plain_inplace(Ct& acc, const Pt& pt) { same_level("add_plain", acc.level, pt.level); }
  void add_const_inplace(Ct&, double) {}
  [[nodiscard]] Ct square_relin(const Ct& ct) { return {ct.level, ct.scale * ct.scale}; }
  void rescale_inplace(Ct& ct) {
    if (ct.level <= 0) throw InvalidArgument("rescale: ciphertext is at level 0");
    ct.scale /= q_.at(ct.level);
    --ct.level;
  }
  void drop_level_inplace(Ct& ct, int level) {
    if (level > ct.level || level < 0)
      throw InvalidArgument("drop_level: cannot go from level " + std::to_string(ct.level) +
                            " to " + std::to_string(level));
    ct.level = level;
  }
  void set_scale(Ct& ct, double scale) const { ct.scale = scale; }
  [[nodiscard]] Ct rotate(const Ct& ct, int) { return ct; }
  struct RotSum {
    std::optional<Ct> sum;
    int terms = 0;
  };
  void rotate_add(RotSum& s, const Ct& ct, int) {
    if (s.sum) add_inplace(*s.sum, ct); else s.sum = ct;
    ++s.terms;
  }
  [[nodiscard]] Ct finish_sum(RotSum& s) {
    if (!s.sum) throw InvalidArgument("finish_sum: nothing was added to the sum");
    Ct r = *s.sum;
    s = RotSum{};
    return r;
  }
  [[nodiscard]] std::vector<Ct> rotate_hoisted(const Ct& ct, std::span<const int> steps) {
    return std::vector<Ct>(steps.size(), ct);
  }

 private:
  static void same_level(const char* op, int a, int b) {
    if (a != b)
      throw InvalidArgument(std::string(op) + ": levels differ (" + std::to_string(a) + " vs " +
                            std::to_string(b) + ")");
  }

  int slots_;
  std::vector<double> q_;
  double default_scale_;
};

static_assert(HeBackend<ShapeBackend>);
static_assert(shape_only_backend<ShapeBackend>);

}  // namespace cryptounet::nn::detail
