// A backend wrapper that times every verb by operation class (key switching, plaintext and
// constant products, encodings, rescaling, other) and forwards it unchanged to the wrapped
// backend: `cryptounet bench unet` runs the encrypted executor through it to show where an
// inference spends its time without a profiler. Wall time per call, on the calling thread.
// Counting is the executor's (ExecReport), not this wrapper's. While math's pool accounting is
// on (math::set_pool_accounting), it also splits each class's CPU time into serial and parallel.
#pragma once

#include <chrono>
#include <span>
#include <vector>

#include "cryptounet/he/backends/backend.h"
#include "cryptounet/he/backends/const_product.h"
#include "cryptounet/math/parallel.h"

namespace cryptounet::nn {

/// Seconds spent in each class of backend operation.
struct OpTimes {
  double key_switch = 0.0;  ///< rotations (single and hoisted) and relinearisations (square_relin)
  double products = 0.0;    ///< plaintext and constant products (and their accumulation)
  double encode = 0.0;      ///< encodings of plaintexts (weights, masks, biases)
  double rescale = 0.0;     ///< rescales (NTT-bound) and level drops
  double add = 0.0;         ///< additions of ciphertexts, plaintexts and constants
  [[nodiscard]] double total() const { return key_switch + products + encode + rescale + add; }
};

template <HeBackend B>
class TimedBackend {
 public:
  using Ct = typename B::Ct;
  using Pt = typename B::Pt;

  explicit TimedBackend(B& inner) : b_(inner) {}

  [[nodiscard]] int slots() const { return b_.slots(); }
  [[nodiscard]] int max_level() const { return b_.max_level(); }
  [[nodiscard]] double modulus(int level) const { return b_.modulus(level); }
  [[nodiscard]] double default_scale() const { return b_.default_scale(); }
  [[nodiscard]] static int level(const Ct& ct) { return B::level(ct); }
  [[nodiscard]] static double scale(const Ct& ct) { return B::scale(ct); }

  [[nodiscard]] Pt encode(std::span<const double> values, int level, double scale) {
    Timer t(*this, &OpTimes::encode);
    return b_.encode(values, level, scale);
  }
  [[nodiscard]] Ct mul_plain(const Ct& ct, const Pt& pt) {
    Timer t(*this, &OpTimes::products);
    return b_.mul_plain(ct, pt);
  }
  void mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt) {
    Timer t(*this, &OpTimes::products);
    b_.mul_plain_add_inplace(acc, ct, pt);
  }
  [[nodiscard]] Ct mul_const(const Ct& ct, double c, double const_scale) {
    Timer t(*this, &OpTimes::products);
    return b_.mul_const(ct, c, const_scale);
  }
  void mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale) {
    Timer t(*this, &OpTimes::products);
    b_.mul_const_add_inplace(acc, ct, c, const_scale);
  }
  void mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                            std::span<const ConstProduct> terms) {
    Timer t(*this, &OpTimes::products);
    b_.mul_const_accumulate(outs, ins, terms);
  }
  void add_inplace(Ct& acc, const Ct& ct) {
    Timer t(*this, &OpTimes::add);
    b_.add_inplace(acc, ct);
  }
  void add_plain_inplace(Ct& acc, const Pt& pt) {
    Timer t(*this, &OpTimes::add);
    b_.add_plain_inplace(acc, pt);
  }
  void add_const_inplace(Ct& acc, double c) {
    Timer t(*this, &OpTimes::add);
    b_.add_const_inplace(acc, c);
  }
  [[nodiscard]] Ct square_relin(const Ct& ct) {
    Timer t(*this, &OpTimes::key_switch);
    return b_.square_relin(ct);
  }
  void rescale_inplace(Ct& ct) {
    Timer t(*this, &OpTimes::rescale);
    b_.rescale_inplace(ct);
  }
  void drop_level_inplace(Ct& ct, int level) {
    Timer t(*this, &OpTimes::rescale);
    b_.drop_level_inplace(ct, level);
  }
  void set_scale(Ct& ct, double scale) { b_.set_scale(ct, scale); }
  [[nodiscard]] Ct rotate(const Ct& ct, int step) {
    Timer t(*this, &OpTimes::key_switch);
    return b_.rotate(ct, step);
  }
  [[nodiscard]] std::vector<Ct> rotate_hoisted(const Ct& ct, std::span<const int> steps) {
    Timer t(*this, &OpTimes::key_switch);
    return b_.rotate_hoisted(ct, steps);
  }
  using RotSum = typename B::RotSum;
  void rotate_add(RotSum& s, const Ct& ct, int step) {
    Timer t(*this, &OpTimes::key_switch);
    b_.rotate_add(s, ct, step);
  }
  [[nodiscard]] Ct finish_sum(RotSum& s) {
    Timer t(*this, &OpTimes::key_switch);
    return b_.finish_sum(s);
  }

  [[nodiscard]] const OpTimes& times() const { return times_; }
  /// CPU seconds per class while only one thread works, and while all do (accounting on only).
  [[nodiscard]] const OpTimes& serial_cpu() const { return serial_; }
  [[nodiscard]] const OpTimes& parallel_cpu() const { return parallel_; }

 private:
  struct Timer {
    Timer(TimedBackend& tb, double OpTimes::*field)
        : tb_(tb), field_(field), sim_(math::pool_accounting_threads()), t0_(std::chrono::steady_clock::now()) {
      if (sim_ > 0) c0_ = math::cpu_snapshot();
    }
    ~Timer() {
      tb_.times_.*field_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      if (sim_ > 0) {
        const math::SerialSplit s = math::serial_split(c0_, math::cpu_snapshot(), sim_);
        tb_.serial_.*field_ += s.serial_s;
        tb_.parallel_.*field_ += s.parallel_s;
      }
    }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    TimedBackend& tb_;
    double OpTimes::*field_;
    int sim_;
    std::chrono::steady_clock::time_point t0_;
    math::CpuSnapshot c0_;
  };
  B& b_;
  OpTimes times_, serial_, parallel_;
};

}  // namespace cryptounet::nn
