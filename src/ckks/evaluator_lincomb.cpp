// Constant linear combinations: many outputs, each a sum of constant multiples of inputs, with
// lazy reduction (math/lazy_mac.h). The constant products of an HE linear layer run here.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/lazy_mac.h"
#include "constants.h"
#include "scale_text.h"

namespace cryptounet::ckks {
namespace {

using detail::log2_str;
using detail::scales_equal;
using detail::from_i128;

}  // namespace

void Evaluator::mul_const_accumulate(std::span<Ciphertext* const> accs, std::span<const Ciphertext* const> inputs,
                                     std::span<const ConstTerm> terms) const {
  if (terms.empty()) return;
  const char* op = "mul_const_accumulate";
  if (inputs.empty()) throw InvalidArgument(std::string(op) + ": terms but no inputs");
  for (const Ciphertext* x : inputs) {
    if (!x) throw InvalidArgument(std::string(op) + ": null input");
    check_pair(op, *inputs[0], *x, false);
    if (x->size() != inputs[0]->size())
      throw InvalidArgument(std::string(op) + ": inputs of sizes " + std::to_string(inputs[0]->size()) + " and " +
                            std::to_string(x->size()));
  }
  const std::size_t outputs = accs.size(), size = inputs[0]->size();
  const std::size_t n = ctx_->n(), limbs = static_cast<std::size_t>(inputs[0]->level()) + 1;
  // Terms grouped by output (counting sort, stable), constants rounded once.
  std::vector<std::uint32_t> begin(outputs + 1, 0);
  std::vector<__int128> k(terms.size());
  for (std::size_t m = 0; m < terms.size(); ++m) {
    const ConstTerm& t = terms[m];
    if (t.out >= outputs || t.in >= inputs.size())
      throw InvalidArgument(std::string(op) + ": term " + std::to_string(m) + " names output " + std::to_string(t.out) +
                            " and input " + std::to_string(t.in) + " (have " + std::to_string(outputs) + " and " +
                            std::to_string(inputs.size()) + ")");
    k[m] = detail::round_const(op, t.c, t.const_scale);
    ++begin[t.out + 1];
  }
  for (std::size_t a = 0; a < outputs; ++a) begin[a + 1] += begin[a];
  std::vector<std::uint32_t> order(terms.size()), in_index(terms.size());
  {
    std::vector<std::uint32_t> fill(begin.begin(), begin.end() - 1);
    for (std::size_t m = 0; m < terms.size(); ++m) order[fill[terms[m].out]++] = static_cast<std::uint32_t>(m);
  }
  // Output checks: scale, level, size; empty outputs get their shape now (values written below).
  std::vector<std::uint8_t> accumulate(outputs, 0);
  std::vector<double> out_scale(outputs, 0.0);
  for (std::size_t a = 0; a < outputs; ++a) {
    if (begin[a] == begin[a + 1]) continue;
    if (!accs[a]) throw InvalidArgument(std::string(op) + ": null output " + std::to_string(a));
    const ConstTerm& first = terms[order[begin[a]]];
    const double s = accs[a]->size() ? accs[a]->scale() : inputs[first.in]->scale() * first.const_scale;
    for (std::uint32_t m = begin[a]; m < begin[a + 1]; ++m) {
      const ConstTerm& t = terms[order[m]];
      if (!scales_equal(s, inputs[t.in]->scale() * t.const_scale))
        throw InvalidArgument(std::string(op) + ": output " + std::to_string(a) + " scale " + log2_str(s) +
                              " is not the product scale " + log2_str(inputs[t.in]->scale() * t.const_scale));
    }
    if (accs[a]->size()) {
      check_pair(op, *accs[a], *inputs[0], false);
      if (accs[a]->size() != size)
        throw InvalidArgument(std::string(op) + ": output " + std::to_string(a) + " has size " +
                              std::to_string(accs[a]->size()) + ", the inputs " + std::to_string(size));
      accumulate[a] = 1;
    }
    out_scale[a] = s;
  }
  for (std::size_t m = 0; m < terms.size(); ++m) in_index[m] = terms[order[m]].in;
  std::vector<std::uint64_t> weight(limbs * terms.size());
  for (std::size_t t = 0; t < limbs; ++t)
    for (std::size_t m = 0; m < terms.size(); ++m) weight[t * terms.size() + m] = from_i128(k[order[m]], ctx_->modulus(t));
  for (std::size_t a = 0; a < outputs; ++a) {
    if (begin[a] == begin[a + 1] || accumulate[a]) continue;
    std::vector<math::RnsPoly> parts;
    for (std::size_t p = 0; p < size; ++p) parts.emplace_back(n, limbs);  // every word written below
    *accs[a] = Ciphertext(std::move(parts), out_scale[a], ctx_->fingerprint());
  }
  // Pointers per (part, limb), then tasks over (limb, block of coefficients). A block keeps the
  // inputs' words in L2 while every output reads them.
  std::vector<const std::uint64_t*> in_ptr(size * limbs * inputs.size());
  std::vector<std::uint64_t*> out_ptr(size * limbs * outputs, nullptr);
  for (std::size_t p = 0; p < size; ++p)
    for (std::size_t t = 0; t < limbs; ++t) {
      for (std::size_t m = 0; m < inputs.size(); ++m) in_ptr[(p * limbs + t) * inputs.size() + m] = inputs[m]->part(p).limb(t);
      for (std::size_t a = 0; a < outputs; ++a)
        if (begin[a] != begin[a + 1]) out_ptr[(p * limbs + t) * outputs + a] = accs[a]->part(p).limb(t);
    }
  std::size_t block = n;
  while (block > 256 && block * inputs.size() * sizeof(std::uint64_t) > (std::size_t{256} << 10)) block /= 2;
  const std::size_t blocks = n / block;
  ctx_->pool().parallel_for(0, limbs * blocks, [&](std::size_t task) {
    const std::size_t t = task / blocks, lo = (task % blocks) * block;
    const math::kernels::MacTerms mt{begin.data(), in_index.data(), weight.data() + t * terms.size(), outputs};
    for (std::size_t p = 0; p < size; ++p)
      math::kernels::mac_many(in_ptr.data() + (p * limbs + t) * inputs.size(), out_ptr.data() + (p * limbs + t) * outputs,
                              accumulate.data(), mt, lo, lo + block, ctx_->modulus(t));
  });
}

}  // namespace cryptounet::ckks
