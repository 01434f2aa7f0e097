// Planes larger than a ciphertext (packing/bands.h): every HE layer with its channel planes cut
// into 2, 3 and 4 bands of whole rows, on the slot simulator (bound 1e-9 relative: exact
// arithmetic, float64 summation order only) and on the real CKKS engine at small INSECURE N
// (bound 1e-3 relative, as tests/workflow/test_he_ckks.cpp), against the float64 reference.
// Slots that hold no value carry random junk on the simulator: it must never reach an output.
// Predicted operation counts and rotation steps equal the executed ones.
#include <gtest/gtest.h>

#include <sstream>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;
using packing::PackingMode;

namespace {

constexpr double kSimBound = 1e-9;
constexpr double kCkksBound = 1e-3;

struct BandCase {
  const char* layer;  // conv3, conv1, convT, pool, square, concat, add
  int cin, cout, height, width, stride;
};

Graph build_band_case(const BandCase& c, unsigned seed) {
  return single_layer_graph(c.layer, c.cin, c.cout, c.height, c.width, c.stride, seed);
}

Plan band_plan(const Graph& g, PackingMode mode, StrategyChoice st, TapChoice taps, int log_n) {
  PlanOptions o;
  o.mode = mode;
  o.batch = 0;
  o.log_n = log_n;
  o.insecure_for_tests = true;
  o.strategy = st;
  o.taps = taps;
  return make_plan(g, o);
}

// At N = 2^10 (512 slots) a 32-wide plane is cut into bands of 16 rows: 32, 48 and 64 rows give
// 2, 3 and 4 bands.
const BandCase kCases[] = {
    {"conv3", 2, 3, 32, 32, 1}, {"conv3", 3, 2, 48, 32, 1}, {"conv3", 2, 4, 64, 32, 1},
    {"conv3", 3, 3, 64, 32, 2}, {"conv3", 2, 2, 48, 32, 4}, {"conv3", 2, 3, 32, 32, 8},
    {"conv1", 3, 2, 48, 32, 1}, {"conv1", 2, 3, 64, 32, 2}, {"convT", 3, 2, 32, 32, 2},
    {"convT", 2, 3, 64, 32, 4}, {"convT", 2, 2, 48, 32, 8}, {"pool", 2, 2, 64, 32, 1},
    {"pool", 3, 3, 48, 32, 2},  {"square", 2, 2, 48, 32, 2}, {"concat", 2, 3, 64, 32, 2},
    {"add", 2, 2, 48, 32, 1},
};

int expected_bands(const BandCase& c) { return c.height / 16; }

void run_sim_case(const BandCase& c, PackingMode mode, StrategyChoice st, TapChoice taps, unsigned seed) {
  std::ostringstream what;
  what << c.layer << " " << c.cin << "->" << c.cout << " " << c.height << "x" << c.width << " s=" << c.stride
       << " mode=" << packing::mode_name(mode) << " strategy=" << static_cast<int>(st)
       << " taps=" << static_cast<int>(taps) << " seed=" << seed;
  SCOPED_TRACE(what.str());
  const Graph g = build_band_case(c, seed);
  const Plan plan = band_plan(g, mode, st, taps, 10);
  ASSERT_EQ(plan.grid.bands, expected_bands(c));
  ASSERT_EQ(plan.input().layout.team_size() % plan.grid.bands, 0);
  GraphBuilder ib(seed + 1000);
  std::vector<Tensor> images;
  for (int b = 0; b < plan.batch; ++b) images.push_back(ib.random_input(g.input_shape()));
  const SimRun run = run_sim(g, plan, images, seed + 7);
  for (int b = 0; b < plan.batch; ++b)
    EXPECT_LE(rel_error(run.outputs[b], run_reference_all(g, images[b])[g.output]), kSimBound);
  EXPECT_EQ(run.report.total, plan.total);
  for (std::size_t n = 0; n < plan.layers.size(); ++n)
    EXPECT_EQ(run.report.layers[n].counts, plan.layers[n].predicted) << "node " << n;
  EXPECT_EQ(run.steps_used, std::set<int>(plan.rotation_steps.begin(), plan.rotation_steps.end()));
}

}  // namespace

TEST(HeBandsSim, EveryLayerOverTwoToFourBandsLatency) {
  unsigned seed = 10;
  for (const BandCase& c : kCases)
    for (StrategyChoice st : {StrategyChoice::diagonal, StrategyChoice::masked_scalar})
      for (TapChoice taps : {TapChoice::taps_in, TapChoice::taps_out})
        run_sim_case(c, PackingMode::latency, st, taps, seed++);
}

TEST(HeBandsSim, EveryLayerOverBandsThroughput) {
  unsigned seed = 500;
  for (const BandCase& c : kCases)
    run_sim_case(c, PackingMode::throughput, StrategyChoice::automatic, TapChoice::automatic, seed++);
}

TEST(HeBandsSim, BrainUNetArchitectureOverFourBands) {
  // The bundled depth-13 architecture at 64x64 and N = 2^11 (1024 slots): 4 bands of 16 rows.
  const Graph g = brain_unet(21, 64, 4);
  const Plan plan = band_plan(g, PackingMode::latency, StrategyChoice::automatic, TapChoice::automatic, 11);
  ASSERT_EQ(plan.grid.bands, 4);
  GraphBuilder ib(22);
  const Tensor image = ib.random_input(g.input_shape());
  const SimRun run = run_sim(g, plan, {image}, 23);
  EXPECT_LE(rel_error(run.outputs[0], run_reference_all(g, image)[g.output]), kSimBound);
  EXPECT_EQ(run.report.total, plan.total);
}

TEST(HeBandsSim, PlaneThatCannotBeCutIsAClearError) {
  // 24 columns do not divide 512 slots.
  GraphBuilder b(3);
  const Graph g = b.finish(b.conv(b.input(1, 32, 24), 2, 3));
  try {
    (void)band_plan(g, PackingMode::latency, StrategyChoice::automatic, TapChoice::automatic, 10);
    FAIL() << "a 32x24 plane at 512 slots was planned";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("width must divide the slots"), std::string::npos) << e.what();
  }
}

namespace {

std::vector<Tensor> run_ckks_bands(const Graph& g, const Plan& plan, const std::vector<Tensor>& images,
                                   ExecReport* report) {
  auto ctx = ckks::Context::create(ckks::Params::from_literal(params_literal(plan)), ExecOptions{2});
  ckks::KeyGenerator kg(ctx);
  const ckks::SecretKey sk = kg.secret_key();
  const ckks::EvaluationKeys keys{kg.relin_key(sk), kg.galois_keys(sk, plan.rotation_steps)};
  CkksBackend be(ctx, &keys);
  const ckks::Encryptor encryptor(ctx, sk);
  const ckks::Encoder enc(ctx);
  std::vector<ckks::Ciphertext> cts;
  for (const auto& s : input_slots(plan, images))
    cts.push_back(encryptor.encrypt(enc.encode(s, plan.input_level, ctx->params().default_scale())));
  auto out = run_encrypted(be, g, plan, std::move(cts), report);
  const ckks::Decryptor decryptor(ctx, sk);
  std::vector<std::vector<double>> slots;
  for (const auto& ct : out.cts) slots.push_back(enc.decode_real(decryptor.decrypt(ct)));
  return output_tensors(plan, slots);
}

void check_ckks(const Graph& g, const Plan& plan, unsigned seed, const std::string& what) {
  SCOPED_TRACE(what);
  GraphBuilder ib(seed);
  std::vector<Tensor> images;
  for (int b = 0; b < plan.batch; ++b) images.push_back(ib.random_input(g.input_shape()));
  ExecReport report;
  const auto outputs = run_ckks_bands(g, plan, images, &report);
  for (int b = 0; b < plan.batch; ++b)
    EXPECT_LE(rel_error(outputs[b], run_reference_all(g, images[b])[g.output]), kCkksBound);
  EXPECT_EQ(report.total, plan.total);
}

}  // namespace

// INSECURE parameters (N = 2^10 and 2^11), tests only.
TEST(HeBandsCkks, EveryLayerOverTwoToFourBands) {
  unsigned seed = 700;
  int k = 0;
  for (const BandCase& c : kCases) {
    const StrategyChoice st = (k % 2) ? StrategyChoice::masked_scalar : StrategyChoice::diagonal;
    const TapChoice taps = (k / 2 % 2) ? TapChoice::taps_out : TapChoice::taps_in;
    ++k;
    const Graph g = build_band_case(c, seed);
    const Plan plan = band_plan(g, PackingMode::latency, st, taps, 10);
    ASSERT_EQ(plan.grid.bands, expected_bands(c));
    check_ckks(g, plan, seed++, std::string(c.layer) + " " + std::to_string(c.height) + "x" +
                                    std::to_string(c.width) + " s=" + std::to_string(c.stride));
  }
}

TEST(HeBandsCkks, BrainUNetArchitectureOverTwoBands) {
  // The depth-13 architecture, 64x64 at N = 2^12 (2048 slots): 2 bands of 32 rows.
  const Graph g = brain_unet(31, 64, 2);
  const Plan plan = band_plan(g, PackingMode::latency, StrategyChoice::automatic, TapChoice::automatic, 12);
  ASSERT_EQ(plan.grid.bands, 2);
  check_ckks(g, plan, 32, "brain_unet 64x64 over 2 bands");
}
