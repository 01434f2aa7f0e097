// Plaintext reference executor: time of one image through the bundled models (float64, naive).
// Run from the repository root (models/ is looked up relative to it).
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"

#include <benchmark/benchmark.h>

#include <filesystem>

namespace {

using namespace cryptounet::nn;

void bench_model(benchmark::State& state, const char* file) {
  const auto path = std::filesystem::path("models") / file;
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("model missing");
    return;
  }
  const Graph g = load_model(path.string());
  Tensor x(g.input_shape());
  for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<double>(i % 97) / 96.0;
  for (auto _ : state) benchmark::DoNotOptimize(run_reference(g, x));
  state.counters["depth"] = g.depth();
  state.counters["params"] = static_cast<double>(g.parameter_count());
}

BENCHMARK_CAPTURE(bench_model, brain64, "brain64.onnx")->Name("model/ref_executor/brain64")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bench_model, brain128, "brain128.onnx")->Name("model/ref_executor/brain128")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bench_model, nuclei64, "nuclei64.onnx")->Name("model/ref_executor/nuclei64")->Unit(benchmark::kMillisecond);

}  // namespace
