// A whole HE-friendly U-Net on an encrypted image, end to end: the planner decides layouts,
// levels, CKKS parameters and the exact rotation steps; the client makes keys for exactly those
// steps and encrypts; the server runs the graph on ciphertexts without any secret; the client
// decrypts the logits. The U-Net has the bundled brain model's shape (two poolings, two skips,
// depth 13) at 16x16 with 4 base channels and random weights. INSECURE small parameters
// (N = 2^12) so that it runs in seconds; real models use the planner's 128-bit choice.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <vector>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/workflow/client.h"

using namespace cryptounet;
using namespace cryptounet::nn;

namespace {

std::mt19937_64 rng(2026);

int add(Graph& g, OpKind kind, std::vector<int> in, Shape shape, int kernel = 0) {
  Node n;
  n.name = std::string(op_name(kind)) + "_" + std::to_string(g.nodes.size());
  n.kind = kind;
  n.inputs = std::move(in);
  n.shape = shape;
  n.kernel = kernel;
  if (kind == OpKind::AvgPool2d) n.stride = 2;
  const int cin = n.inputs.empty() ? 0 : g.nodes[n.inputs[0]].shape.channels;
  std::uniform_real_distribution<double> u(-1, 1);
  if (kind == OpKind::Conv2d || kind == OpKind::ConvTranspose2d) {
    n.stride = kind == OpKind::Conv2d ? 1 : 2;
    n.pad = kind == OpKind::Conv2d ? kernel / 2 : 0;
    const double scale = 1.0 / std::sqrt(static_cast<double>(cin * kernel * kernel));
    for (int i = 0; i < shape.channels * cin * kernel * kernel; ++i) n.weight.push_back(scale * u(rng));
    for (int i = 0; i < shape.channels; ++i) n.bias.push_back(0.1 * u(rng));
  }
  g.nodes.push_back(n);
  return static_cast<int>(g.nodes.size()) - 1;
}

}  // namespace

int main() {
  const int S = 16, c = 4;
  Graph g;
  g.name = "unet16";
  int x = add(g, OpKind::Input, {}, {1, S, S});
  auto block = [&](int in, int ch) {
    const Shape s = g.nodes[in].shape;
    int y = add(g, OpKind::Conv2d, {in}, {ch, s.height, s.width}, 3);
    return add(g, OpKind::Square, {y}, g.nodes[y].shape);
  };
  auto pool = [&](int in) {
    Shape s = g.nodes[in].shape;
    return add(g, OpKind::AvgPool2d, {in}, {s.channels, s.height / 2, s.width / 2}, 2);
  };
  auto up = [&](int in, int ch) {
    Shape s = g.nodes[in].shape;
    return add(g, OpKind::ConvTranspose2d, {in}, {ch, 2 * s.height, 2 * s.width}, 2);
  };
  auto cat = [&](int a, int b) {
    Shape s = g.nodes[a].shape;
    s.channels += g.nodes[b].shape.channels;
    return add(g, OpKind::Concat, {a, b}, s);
  };
  int e1 = block(x, c), e2 = block(pool(e1), 2 * c), b = block(pool(e2), 4 * c);
  int d2 = block(cat(up(b, 2 * c), e2), 2 * c);
  int d1 = block(cat(up(d2, c), e1), c);
  g.output = add(g, OpKind::Conv2d, {d1}, {1, S, S}, 1);

  // Both sides: the plan (public: no weights, nothing secret).
  PlanOptions opt;
  opt.log_n = 12;
  opt.insecure_for_tests = true;
  const Plan plan = make_plan(g, opt);
  print_cost_table(plan, std::cout);

  // Client: keys for exactly the plan's rotations, then the encrypted image.
  auto ctx = ckks::Context::create(ckks::Params::from_literal(params_literal(plan)));
  ckks::KeyGenerator kg(ctx);
  ckks::SecretKey sk = kg.secret_key();
  const ckks::EvaluationKeys eval_keys{kg.relin_key(sk), kg.galois_keys(sk, plan.rotation_steps)};
  Tensor image(Shape{1, S, S});
  std::uniform_real_distribution<double> u(0, 1);
  for (double& v : image.data) v = u(rng);
  auto cts = encrypt_inputs(ctx, sk, plan, {image});

  // Server: evaluation keys only.
  CkksBackend server(ctx, &eval_keys);
  ExecReport report;
  RunOptions run;
  run.progress = [](int done, int total, const std::string& name) {
    std::printf("\r  layer %2d/%d %-24s", done, total, name.c_str());
    std::fflush(stdout);
  };
  auto out = run_encrypted(server, g, plan, std::move(cts), &report, run);
  std::printf("\nserver: %.2f s, %ld key switches, %ld plaintext and %ld constant products\n",
              report.seconds, report.total.key_switches(), report.total.pt_products,
              report.total.scalar_products);

  // Client: logits, compared with the plaintext reference.
  const Tensor logits = decrypt_outputs(ctx, sk, plan, out.cts)[0];
  const Tensor ref = run_reference(g, image);
  double max_ref = 0, max_err = 0;
  int same = 0;
  for (std::size_t i = 0; i < ref.data.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(ref.data[i]));
    max_err = std::max(max_err, std::abs(logits.data[i] - ref.data[i]));
    same += (logits.data[i] > 0) == (ref.data[i] > 0);
  }
  std::printf("client: max |logit| %.3g, max error %.3g (%.1f bits below the largest logit), "
              "mask agreement %d/%zu\n",
              max_ref, max_err, std::log2(max_ref / max_err), same, ref.data.size());
  const bool ok = max_err <= 1e-3 * std::max(1.0, max_ref) && report.total == plan.total;
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
