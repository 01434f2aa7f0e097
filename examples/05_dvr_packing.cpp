// Double Volley Revolver packing (DESIGN.md §5). A ciphertext's slots are cut into R rows of P
// slots; a row holds one image plane on the full-resolution grid. Latency mode puts the channels
// of one image into the rows (a team of ciphertexts when they do not fit); throughput mode puts
// R images into the rows and one channel per ciphertext. After pooling a plane stays on the grid
// at stride 2, 4, ... A 3x3 tap is one rotation of the whole ciphertext; a 0/1 mask keeps only
// the outputs whose source lies inside the image. This example shows where values live, then
// runs one convolution on the slot simulator and on real CKKS and checks both against the
// float64 reference. INSECURE small parameters (N = 2^11) so that it runs in a second.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <vector>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/he/backends/sim_backend.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/packing/dvr_layout.h"
#include "cryptounet/packing/masks.h"
#include "cryptounet/workflow/client.h"

using namespace cryptounet;
using namespace cryptounet::packing;

int main() {
  // 1. The grid: a 16x16 image in 1024 slots -> planes of P = 256 slots, R = 4 rows.
  const Grid grid = Grid::make(/*slots=*/1024, /*height=*/16, /*width=*/16);
  std::printf("grid: %d slots = %d rows x %d slots per plane\n", grid.slots, grid.rows, grid.plane);

  // 2. Latency mode: 6 channels of one image -> a team of 2 ciphertexts (rows 0..3, 0..1).
  const DvrLayout lat = DvrLayout::latency(grid, 6, 16, 16, 1);
  SlotRef s = lat.slot_of({0, 5, 3, 7});
  std::printf("latency  %s: (c=5, y=3, x=7) -> ciphertext %d, slot %d (row %d)\n",
              lat.describe().c_str(), s.ct, s.slot, s.slot / grid.plane);
  // Throughput mode: 3 channels of 4 images -> 3 ciphertexts, image b in row b.
  const DvrLayout thr = DvrLayout::throughput(grid, 3, 16, 16, 1, 4);
  s = thr.slot_of({2, 1, 3, 7});
  std::printf("throughput %s: (image 2, c=1, y=3, x=7) -> ciphertext %d, slot %d\n",
              thr.describe().c_str(), s.ct, s.slot);
  // After one 2x2 pooling the 8x8 tensor stays on the 16x16 grid at stride 2: no compaction.
  const DvrLayout pooled = lat.with_stride(2, 8, 8);
  s = pooled.slot_of({0, 5, 3, 7});
  std::printf("pooled   %s: (c=5, y=3, x=7) -> slot %d = row*P + 2*3*16 + 2*7\n",
              pooled.describe().c_str(), s.slot);

  // 3. A tap (dy, dx) = (1, -1) at stride 2 is a left rotation by 2*(1*16 - 1) = 30 slots; its
  // mask keeps the outputs whose source pixel (y+1, x-1) is inside the 8x8 tensor.
  const MaskKey tap{2, 8, 8, 1, -1, -1, 0};
  std::printf("tap (1,-1) at stride 2: rotation step %d, %d valid outputs per plane of 64\n",
              tap_step(grid, 2, 1, -1), mask_weight(tap));

  // 4. One convolution conv3x3(2 -> 3) + bias, latency mode, on the simulator and on CKKS.
  nn::Graph g;
  g.nodes.resize(2);
  g.nodes[0].name = "input";
  g.nodes[0].shape = {2, 16, 16};
  nn::Node& conv = g.nodes[1];
  conv.name = "conv";
  conv.kind = nn::OpKind::Conv2d;
  conv.inputs = {0};
  conv.shape = {3, 16, 16};
  conv.kernel = 3;
  conv.pad = 1;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  for (int i = 0; i < 3 * 2 * 9; ++i) conv.weight.push_back(u(rng));
  conv.bias = {0.1, -0.2, 0.3};
  g.output = 1;
  nn::Tensor image(nn::Shape{2, 16, 16});
  for (double& v : image.data) v = u(rng);

  nn::PlanOptions opt;
  opt.log_n = 11;
  opt.insecure_for_tests = true;
  const nn::Plan plan = nn::make_plan(g, opt);
  nn::print_cost_table(plan, std::cout);
  const nn::Tensor ref = nn::run_reference(g, image);
  auto max_err = [&](const nn::Tensor& t) {
    double e = 0;
    for (std::size_t i = 0; i < ref.data.size(); ++i) e = std::max(e, std::abs(t.data[i] - ref.data[i]));
    return e;
  };

  nn::SimBackend sim = nn::SimBackend::from_bits(plan.grid.slots, plan.log_q, plan.log_scale);
  std::vector<nn::SimBackend::Ct> sim_in;
  for (const auto& v : nn::input_slots(plan, {image}))
    sim_in.push_back(sim.encrypt(v, plan.input_level, sim.default_scale()));
  nn::ExecReport sim_report;
  auto sim_out = nn::run_encrypted(sim, g, plan, std::move(sim_in), &sim_report);
  std::vector<std::vector<double>> sim_slots;
  for (const auto& ct : sim_out.cts) sim_slots.push_back(sim.decrypt(ct));
  const double sim_err = max_err(nn::output_tensors(plan, sim_slots)[0]);

  auto ctx = ckks::Context::create(ckks::Params::from_literal(nn::params_literal(plan)));
  ckks::KeyGenerator kg(ctx);
  ckks::SecretKey sk = kg.secret_key();
  ckks::EvaluationKeys keys{kg.relin_key(sk), kg.galois_keys(sk, plan.rotation_steps)};
  nn::CkksBackend he(ctx, &keys);
  nn::ExecReport he_report;
  auto he_out = nn::run_encrypted(he, g, plan,
                                  nn::encrypt_inputs(ctx, sk, plan, {image}),
                                  &he_report);
  const double he_err = max_err(nn::decrypt_outputs(ctx, sk, plan, he_out.cts)[0]);

  std::printf("simulator: max error %.3g, counts %s the plan's\n", sim_err,
              sim_report.total == plan.total ? "equal" : "DIFFER FROM");
  std::printf("CKKS:      max error %.3g, counts %s the plan's\n", he_err,
              he_report.total == plan.total ? "equal" : "DIFFER FROM");
  const bool ok = sim_err < 1e-9 && he_err < 1e-3 && sim_report.total == plan.total &&
                  he_report.total == plan.total;
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
