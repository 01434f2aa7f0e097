// A slot simulator with the CKKS evaluator's interface: a "ciphertext" is its slot vector in
// plain doubles plus the level and scale CKKS would carry. It checks what the engine checks
// (equal levels and scales for additions, rescale below level 0, value overflow of Q_level),
// so packing logic and the planner's counts (counted by the executor, he/exec) can be tested at
// full size in milliseconds. Exact arithmetic: it models neither CKKS noise nor encoding rounding.
// Satisfies HeBackend (backends/backend.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "cryptounet/he/backends/const_product.h"

namespace cryptounet::nn {

class SimBackend {
 public:
  struct Ct {
    std::vector<double> v;
    int level = 0;
    double scale = 1.0;
  };
  struct Pt {
    std::vector<double> v;
    int level = 0;
    double scale = 1.0;
  };

  /// `moduli` are q_0..q_L (as doubles); values must be > 1. Throws InvalidArgument.
  SimBackend(int slots, std::vector<double> moduli, double default_scale);
  /// Moduli near 2^bits (distinct, deliberately not powers of two, as NTT primes are not),
  /// so a scale mismatch is caught as the engine would catch it.
  [[nodiscard]] static SimBackend from_bits(int slots, const std::vector<int>& log_q,
                                            int log_scale);

  [[nodiscard]] int slots() const { return slots_; }
  [[nodiscard]] int max_level() const { return static_cast<int>(q_.size()) - 1; }
  [[nodiscard]] double modulus(int level) const { return q_.at(level); }
  [[nodiscard]] double default_scale() const { return default_scale_; }
  [[nodiscard]] static int level(const Ct& ct) { return ct.level; }
  [[nodiscard]] static double scale(const Ct& ct) { return ct.scale; }

  // Client side (not part of HeBackend).
  [[nodiscard]] Ct encrypt(std::span<const double> values, int level, double scale) const;
  [[nodiscard]] std::vector<double> decrypt(const Ct& ct) const;

  // Server side: the engine's verbs (HeBackend).
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
  void set_scale(Ct& ct, double scale) const { ct.scale = scale; }
  [[nodiscard]] Ct rotate(const Ct& ct, int step);
  struct RotSum {
    std::optional<Ct> sum;
    int terms = 0;
  };
  /// Rotates and adds, one by one (the simulator has no ModDown to share).
  void rotate_add(RotSum& s, const Ct& ct, int step);
  [[nodiscard]] Ct finish_sum(RotSum& s);
  [[nodiscard]] std::vector<Ct> rotate_hoisted(const Ct& ct, std::span<const int> steps);

 private:
  void check_same(const char* op, int level_a, double scale_a, int level_b, double scale_b) const;
  void check_range(const char* op, const Ct& ct) const;
  [[nodiscard]] std::vector<double> rotated(const std::vector<double>& v, int step);

  int slots_;
  std::vector<double> q_;
  std::vector<double> log2_q_prefix_;  // log2(q_0 * ... * q_l)
  double default_scale_;
};

}  // namespace cryptounet::nn
