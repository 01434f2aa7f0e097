#include "cryptounet/he/backends/sim_backend.h"

#include <cmath>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/packing/masks.h"

namespace cryptounet::nn {

namespace {

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

SimBackend::SimBackend(int slots, std::vector<double> moduli, double default_scale)
    : slots_(slots), q_(std::move(moduli)), default_scale_(default_scale) {
  if (slots <= 0 || (slots & (slots - 1)) != 0)
    throw InvalidArgument("sim backend: slots " + std::to_string(slots) +
                          " is not a power of two");
  if (q_.empty()) throw InvalidArgument("sim backend: no moduli");
  double acc = 0.0;
  for (double q : q_) {
    if (!(q > 1.0)) throw InvalidArgument("sim backend: modulus " + fmt(q) + " is not > 1");
    acc += std::log2(q);
    log2_q_prefix_.push_back(acc);
  }
}

SimBackend SimBackend::from_bits(int slots, const std::vector<int>& log_q, int log_scale) {
  std::vector<double> q;
  for (std::size_t i = 0; i < log_q.size(); ++i) {
    // Distinct offsets 2e-8 .. 1e-6 away from the power of two, like the engine's NTT-friendly
    // primes near 2^bits (q = 1 mod 2N, the closest ones: |q/2^bits - 1| < 1e-6 for N <= 2^16).
    double off = (static_cast<double>(2 * i + 3) * 977.0 - 1500.0) * std::ldexp(1.0, -36);
    q.push_back(std::ldexp(1.0 + off, log_q[i]));
  }
  return SimBackend(slots, std::move(q), std::ldexp(1.0, log_scale));
}

void SimBackend::check_same(const char* op, int level_a, double scale_a, int level_b,
                            double scale_b) const {
  if (level_a != level_b)
    throw InvalidArgument(std::string(op) + ": levels differ (" + std::to_string(level_a) +
                          " vs " + std::to_string(level_b) + ")");
  if (std::abs(scale_a - scale_b) > 1e-9 * std::abs(scale_a))
    throw InvalidArgument(std::string(op) + ": scales differ (" + fmt(scale_a) + " vs " +
                          fmt(scale_b) + ")");
}

void SimBackend::check_range(const char* op, const Ct& ct) const {
  double m = 0.0;
  for (double x : ct.v) m = std::max(m, std::abs(x));
  if (m == 0.0) return;
  // A CKKS value survives while |x| * scale < Q_level / 2.
  double need = std::log2(m) + std::log2(ct.scale) + 1.0;
  if (need >= log2_q_prefix_[ct.level])
    throw InvalidArgument(std::string(op) + ": value " + fmt(m) + " at scale 2^" +
                          fmt(std::log2(ct.scale)) + " overflows Q at level " +
                          std::to_string(ct.level) + " (2^" + fmt(log2_q_prefix_[ct.level]) +
                          ")");
}

SimBackend::Ct SimBackend::encrypt(std::span<const double> values, int level, double scale) const {
  if (level < 0 || level > max_level())
    throw InvalidArgument("sim encrypt: level " + std::to_string(level) + " outside 0.." +
                          std::to_string(max_level()));
  if (values.size() > static_cast<std::size_t>(slots_))
    throw InvalidArgument("sim encrypt: " + std::to_string(values.size()) + " values for " +
                          std::to_string(slots_) + " slots");
  Ct ct{std::vector<double>(slots_, 0.0), level, scale};
  std::copy(values.begin(), values.end(), ct.v.begin());
  check_range("sim encrypt", ct);
  return ct;
}

std::vector<double> SimBackend::decrypt(const Ct& ct) const { return ct.v; }

SimBackend::Pt SimBackend::encode(std::span<const double> values, int level, double scale) {
  if (level < 0 || level > max_level())
    throw InvalidArgument("sim encode: level " + std::to_string(level) + " outside 0.." +
                          std::to_string(max_level()));
  if (values.size() > static_cast<std::size_t>(slots_))
    throw InvalidArgument("sim encode: too many values");
  Pt pt{std::vector<double>(slots_, 0.0), level, scale};
  std::copy(values.begin(), values.end(), pt.v.begin());
  return pt;
}

SimBackend::Ct SimBackend::mul_plain(const Ct& ct, const Pt& pt) {
  if (ct.level != pt.level)
    throw InvalidArgument("mul_plain: levels differ (" + std::to_string(ct.level) + " vs " +
                          std::to_string(pt.level) + ")");
  Ct r{std::vector<double>(slots_), ct.level, ct.scale * pt.scale};
  for (int i = 0; i < slots_; ++i) r.v[i] = ct.v[i] * pt.v[i];
  check_range("mul_plain", r);
  return r;
}

void SimBackend::mul_plain_add_inplace(Ct& acc, const Ct& ct, const Pt& pt) {
  if (ct.level != pt.level)
    throw InvalidArgument("mul_plain_add: levels differ");
  check_same("mul_plain_add", acc.level, acc.scale, ct.level, ct.scale * pt.scale);
  for (int i = 0; i < slots_; ++i) acc.v[i] += ct.v[i] * pt.v[i];
}

SimBackend::Ct SimBackend::mul_const(const Ct& ct, double c, double const_scale) {
  Ct r{std::vector<double>(slots_), ct.level, ct.scale * const_scale};
  for (int i = 0; i < slots_; ++i) r.v[i] = ct.v[i] * c;
  check_range("mul_const", r);
  return r;
}

void SimBackend::mul_const_add_inplace(Ct& acc, const Ct& ct, double c, double const_scale) {
  check_same("mul_const_add", acc.level, acc.scale, ct.level, ct.scale * const_scale);
  for (int i = 0; i < slots_; ++i) acc.v[i] += ct.v[i] * c;
}

void SimBackend::mul_const_accumulate(std::span<Ct* const> outs, std::span<const Ct* const> ins,
                                      std::span<const ConstProduct> terms) {
  for (const ConstProduct& t : terms)
    if (t.out >= outs.size() || t.in >= ins.size())
      throw InvalidArgument("mul_const_accumulate: term names output " + std::to_string(t.out) + " and input " +
                            std::to_string(t.in) + " (have " + std::to_string(outs.size()) + " and " +
                            std::to_string(ins.size()) + ")");
  for (const ConstProduct& t : terms) {
    Ct& acc = *outs[t.out];
    if (acc.v.empty())
      acc = mul_const(*ins[t.in], t.c, t.const_scale);
    else
      mul_const_add_inplace(acc, *ins[t.in], t.c, t.const_scale);
  }
}

void SimBackend::add_inplace(Ct& acc, const Ct& ct) {
  check_same("add", acc.level, acc.scale, ct.level, ct.scale);
  for (int i = 0; i < slots_; ++i) acc.v[i] += ct.v[i];
}

void SimBackend::add_plain_inplace(Ct& acc, const Pt& pt) {
  check_same("add_plain", acc.level, acc.scale, pt.level, pt.scale);
  for (int i = 0; i < slots_; ++i) acc.v[i] += pt.v[i];
}

void SimBackend::add_const_inplace(Ct& acc, double c) {
  for (double& x : acc.v) x += c;
}

SimBackend::Ct SimBackend::square_relin(const Ct& ct) {
  Ct r{std::vector<double>(slots_), ct.level, ct.scale * ct.scale};
  for (int i = 0; i < slots_; ++i) r.v[i] = ct.v[i] * ct.v[i];
  check_range("square_relin", r);
  return r;
}

void SimBackend::rescale_inplace(Ct& ct) {
  if (ct.level <= 0) throw InvalidArgument("rescale: ciphertext is at level 0");
  ct.scale /= q_[ct.level];
  --ct.level;
  check_range("rescale", ct);
}

void SimBackend::drop_level_inplace(Ct& ct, int level) {
  if (level > ct.level || level < 0)
    throw InvalidArgument("drop_level: cannot go from level " + std::to_string(ct.level) +
                          " to " + std::to_string(level));
  if (level == ct.level) return;
  ct.level = level;
  check_range("drop_level", ct);
}

std::vector<double> SimBackend::rotated(const std::vector<double>& v, int step) {
  const int s = packing::normalize_step(step, slots_);
  std::vector<double> r(slots_);
  for (int i = 0; i < slots_; ++i) r[i] = v[(i + s) % slots_];
  return r;
}

SimBackend::Ct SimBackend::rotate(const Ct& ct, int step) {
  return Ct{rotated(ct.v, step), ct.level, ct.scale};
}

void SimBackend::rotate_add(RotSum& s, const Ct& ct, int step) {
  if (s.sum)
    add_inplace(*s.sum, rotate(ct, step));
  else
    s.sum = rotate(ct, step);
  ++s.terms;
}

SimBackend::Ct SimBackend::finish_sum(RotSum& s) {
  if (!s.sum) throw InvalidArgument("sim finish_sum: nothing was added to the sum");
  Ct r = std::move(*s.sum);
  s = RotSum{};
  return r;
}

std::vector<SimBackend::Ct> SimBackend::rotate_hoisted(const Ct& ct, std::span<const int> steps) {
  std::vector<Ct> out;
  for (int s : steps) out.push_back(Ct{rotated(ct.v, s), ct.level, ct.scale});
  return out;
}

}  // namespace cryptounet::nn
