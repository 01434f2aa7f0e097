// mac_many (the constant products of an HE linear layer) over one cache block: 8 outputs of 64
// terms each over 16 inputs of 1024 coefficients, for a 40-bit prime (IFMA 52-bit path where the
// build has it) and a 60-bit prime (the first prime: three-column IFMA path), each against the
// portable 128-bit path ("portable" = 1).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "cryptounet/math/lazy_mac.h"
#include "cryptounet/math/primes.h"

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
