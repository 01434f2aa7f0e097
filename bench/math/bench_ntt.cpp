// NTT of one limb: 60-bit primes (the anchor's ntt_fwd/inv_1limb rows) and 40/50-bit primes
// (below 2^50 the AVX-512 IFMA kernels run where the build has them).
#include <benchmark/benchmark.h>

#include <random>

#include "cryptounet/math/ntt.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

void run(benchmark::State& state, bool forward) {
  const std::size_t n = std::size_t{1} << state.range(0);
  const Modulus q(ntt_primes(static_cast<int>(state.range(1)), 1, 2 * n, true)[0]);
  const NttTables t(n, q);
  std::vector<std::uint64_t> a(n);
  std::mt19937_64 rng(1);
  for (auto& x : a) x = rng() % q.value();
  for (auto _ : state) {
    if (forward) {
      ntt_forward(a.data(), t);
    } else {
      ntt_inverse(a.data(), t);
    }
    benchmark::DoNotOptimize(a.data());
  }
}

void BM_ntt_fwd(benchmark::State& s) { run(s, true); }
void BM_ntt_inv(benchmark::State& s) { run(s, false); }
BENCHMARK(BM_ntt_fwd)->Name("math/ntt_fwd")->ArgNames({"logN", "bits"})->ArgsProduct({{14, 15, 16}, {40, 50, 60}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ntt_inv)->Name("math/ntt_inv")->ArgNames({"logN", "bits"})->ArgsProduct({{14, 15, 16}, {40, 50, 60}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cryptounet::math
