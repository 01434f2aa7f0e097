// mac_many (the constant products of an HE linear layer) over one cache block: 8 outputs of 64
// terms each over 16 inputs of 1024 coefficients, for a 40-bit prime (IFMA 52-bit path where the
// build has it) and a 60-bit prime (the first prime: three-column IFMA path), each against the
// portable 128-bit path ("portable" = 1).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "cryptounet/math/lazy_mac.h"
#include "cryptounet/math/primes.h"
#include "cryptounet/math/rns_poly.h"

namespace cryptounet::math {
namespace {

void BM_mac_many(benchmark::State& state) {
  const std::size_t n = 1024, inputs = 16, outputs = 8, per_output = 64;
  const Modulus q(ntt_primes(static_cast<int>(state.range(0)), 1, 2 * n, true)[0]);
  const bool portable = state.range(1) != 0;
  std::mt19937_64 rng(3);
  std::vector<std::vector<std::uint64_t>> in(inputs, std::vector<std::uint64_t>(n)),
      out(outputs, std::vector<std::uint64_t>(n));
  for (auto& v : in)
    for (auto& x : v) x = rng() % q.value();
  std::vector<std::uint32_t> begin = {0}, idx;
  std::vector<std::uint64_t> w;
  for (std::size_t a = 0; a < outputs; ++a) {
    for (std::size_t m = 0; m < per_output; ++m) {
      idx.push_back(static_cast<std::uint32_t>(rng() % inputs));
      w.push_back(rng() % q.value());
    }
    begin.push_back(static_cast<std::uint32_t>(idx.size()));
  }
  std::vector<const std::uint64_t*> ip;
  for (auto& v : in) ip.push_back(v.data());
  std::vector<std::uint64_t*> op;
  for (auto& v : out) op.push_back(v.data());
  const std::vector<std::uint8_t> acc(outputs, 0);
  const kernels::MacTerms terms{begin.data(), idx.data(), w.data(), outputs};
  for (auto _ : state) {
    if (portable) {
      kernels::detail::mac_many_portable(ip.data(), op.data(), acc.data(), terms, 0, n, q);
    } else {
      kernels::mac_many(ip.data(), op.data(), acc.data(), terms, 0, n, q);
    }
    benchmark::DoNotOptimize(op.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * outputs * per_output * n));
}

}  // namespace

BENCHMARK(BM_mac_many)->Name("math/mac_many")->ArgNames({"bits", "portable"})->ArgsProduct({{40, 60}, {0, 1}});

}  // namespace cryptounet::math

namespace cryptounet::math {
namespace {

// The shape of one mul_const_accumulate call of brain128's enc.2 (one input ciphertext's 9 masked
// products into 32 accumulators, 10 limbs of 2^15 coefficients, 2 parts): outputs in memory (168 MB,
// not cache-resident), blocks of 2048 coefficients as the evaluator cuts them, all outputs accumulated.
void BM_mac_many_layer(benchmark::State& state) {
  const std::size_t n = std::size_t{1} << 15, inputs = 9, outputs = 32, limbs = 10, parts = 2, block = 2048;
  const Modulus q(ntt_primes(40, 1, 2 * n, true)[0]);
  std::mt19937_64 rng(5);
  // One RnsPoly per ciphertext part, as the evaluator's ciphertexts hold them.
  // separate = 1: one heap vector per limb instead (4 KiB pages at scattered addresses).
  const bool separate = state.range(0) != 0;
  std::vector<RnsPoly> in, out;
  std::vector<std::vector<std::uint64_t>> vin, vout;
  for (std::size_t k = 0; k < parts * inputs; ++k) in.emplace_back(n, separate ? 0 : limbs);
  for (std::size_t k = 0; k < parts * outputs; ++k) out.emplace_back(n, separate ? 0 : limbs);
  if (separate) {
    vin.assign(parts * inputs * limbs, std::vector<std::uint64_t>(n));
    vout.assign(parts * outputs * limbs, std::vector<std::uint64_t>(n));
  }
  auto in_limb = [&](std::size_t k, std::size_t t) { return separate ? vin[k * limbs + t].data() : in[k].limb(t); };
  auto out_limb = [&](std::size_t k, std::size_t t) { return separate ? vout[k * limbs + t].data() : out[k].limb(t); };
  for (std::size_t k = 0; k < parts * inputs; ++k)
    for (std::size_t t = 0; t < limbs; ++t)
      for (std::size_t i = 0; i < n; ++i) in_limb(k, t)[i] = rng() % q.value();
  for (std::size_t k = 0; k < parts * outputs; ++k)
    for (std::size_t t = 0; t < limbs; ++t)
      for (std::size_t i = 0; i < n; ++i) out_limb(k, t)[i] = rng() % q.value();
  std::vector<std::uint32_t> begin = {0}, idx;
  std::vector<std::uint64_t> w;
  for (std::size_t a = 0; a < outputs; ++a) {
    for (std::size_t m = 0; m < inputs; ++m) {
      idx.push_back(static_cast<std::uint32_t>(m));
      w.push_back(rng() % q.value());
    }
    begin.push_back(static_cast<std::uint32_t>(idx.size()));
  }
  // Pointers per (part, limb) as Evaluator::mul_const_accumulate lays them out.
  std::vector<const std::uint64_t*> ip(parts * limbs * inputs);
  std::vector<std::uint64_t*> op(parts * limbs * outputs);
  for (std::size_t p = 0; p < parts; ++p)
    for (std::size_t t = 0; t < limbs; ++t) {
      for (std::size_t m = 0; m < inputs; ++m) ip[(p * limbs + t) * inputs + m] = in_limb(m * parts + p, t);
      for (std::size_t a = 0; a < outputs; ++a) op[(p * limbs + t) * outputs + a] = out_limb(a * parts + p, t);
    }
  const std::vector<std::uint8_t> acc(outputs, 1);
  const kernels::MacTerms terms{begin.data(), idx.data(), w.data(), outputs};
  for (auto _ : state) {
    for (std::size_t t = 0; t < limbs; ++t)
      for (std::size_t lo = 0; lo < n; lo += block)
        for (std::size_t p = 0; p < parts; ++p)
          kernels::mac_many(ip.data() + (p * limbs + t) * inputs, op.data() + (p * limbs + t) * outputs, acc.data(),
                            terms, lo, lo + block, q);
    benchmark::DoNotOptimize(op.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * outputs * inputs * n * limbs * parts));
}

}  // namespace

BENCHMARK(BM_mac_many_layer)->Name("math/mac_many_layer")->ArgName("separate")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace cryptounet::math
