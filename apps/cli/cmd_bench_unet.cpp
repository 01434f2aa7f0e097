// `cryptounet bench unet`: one encrypted inference of a model (random input in [0, 1], keys made
// here) through the timing backend wrapper: the time shares of each operation class and the time
// of each layer, so that the next person sees where an inference goes without a profiler.
// With --json: {"model", "threads", "infer_s", "op_classes": {class: {seconds, share}},
// "layers": [{name, op, level, seconds, share, rotations, ...}], "peak_rss_bytes"} on stdout.
#include "cli/command.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/he/backends/timed_backend.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace cryptounet::cli {
namespace {

struct BenchUnetArgs {
  std::string model;
  int threads = 0;
  InsecureParams insecure;
  bool json = false;
};

void run_bench_unet(const BenchUnetArgs& a) {
  const nn::Graph graph = nn::load_model(a.model);
  nn::PlanOptions opt;
  apply_insecure_params(a.insecure, opt);
  const nn::Plan plan = nn::make_plan(graph, opt);
  warn_if_insecure(plan);
  auto ctx = ckks::Context::create(nn::plan_params(plan), ExecOptions{.threads = a.threads});
  ckks::KeyGenerator kg(ctx);
  const ckks::SecretKey sk = kg.secret_key();
  const ckks::EvaluationKeys evk = nn::make_evaluation_keys(ctx, sk, plan);
  std::vector<nn::Tensor> images;
  for (int b = 0; b < plan.batch; ++b) {
    nn::Tensor t(graph.input_shape());
    std::mt19937_64 rng(7 + b);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (double& v : t.data) v = u(rng);
    images.push_back(std::move(t));
  }
  std::vector<ckks::Ciphertext> in = nn::encrypt_inputs(ctx, sk, plan, images);
  std::fprintf(stderr, "bench unet: %s, N=2^%d, %zu Q primes, %d thread(s); running one inference\n",
               graph.name.c_str(), plan.log_n, plan.log_q.size(), ctx->pool().size());

  nn::CkksBackend backend(ctx, &evk);
  nn::TimedBackend<nn::CkksBackend> timed(backend);
  nn::ExecReport report;
  const auto t0 = std::chrono::steady_clock::now();
  (void)nn::run_encrypted(timed, graph, plan, std::move(in), &report, progress_bar_options("infer"));
  const double infer_s = seconds_since(t0);
  const nn::OpTimes& ot = timed.times();
  const std::vector<std::pair<std::string, double>> classes = {
      {"key_switching", ot.key_switch}, {"pt_and_const_products", ot.products}, {"encodings", ot.encode},
      {"rescale_ntt", ot.rescale},     {"additions", ot.add},                 {"other", infer_s - ot.total()}};
  auto share = [&](double s) { return infer_s > 0 ? s / infer_s : 0.0; };

  if (a.json) {
    nlohmann::ordered_json j;
    j["model"] = graph.name;
    j["threads"] = ctx->pool().size();
    j["log_n"] = plan.log_n;
    j["infer_s"] = infer_s;
    nlohmann::ordered_json oc = nlohmann::ordered_json::object();
    for (const auto& [name, s] : classes) oc[name] = {{"seconds", s}, {"share", share(s)}};
    j["op_classes"] = oc;
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const nn::LayerReport& l : report.layers)
      layers.push_back({{"name", l.name},
                        {"op", nn::op_name(l.kind)},
                        {"level", l.level},
                        {"seconds", l.seconds},
                        {"share", share(l.seconds)},
                        {"rotations", l.counts.rotations},
                        {"relins", l.counts.relins},
                        {"pt_products", l.counts.pt_products},
                        {"const_products", l.counts.scalar_products},
                        {"encodings", l.counts.encodings}});
    j["layers"] = layers;
    j["peak_rss_bytes"] = peak_rss_bytes();
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("bench unet: %s, inference %.2f s on %d thread(s)\n", graph.name.c_str(), infer_s, ctx->pool().size());
  std::printf("%-24s %10s %7s\n", "operation class", "seconds", "share");
  for (const auto& [name, s] : classes) std::printf("%-24s %10.3f %6.1f%%\n", name.c_str(), s, 100.0 * share(s));
  print_exec_report(plan, report);
}

void setup_bench_unet(CLI::App& root) {
  CLI::App* group = subcommand_group(root, "bench", "Benchmarks of the CKKS engine and the encrypted U-Net");
  auto a = std::make_shared<BenchUnetArgs>();
  CLI::App* cmd = group->add_subcommand(
      "unet", "One encrypted inference of a model: time per operation class and per layer");
  cmd->add_option("--model", a->model, "ONNX model")->required()->check(CLI::ExistingFile);
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(kNonNegative);
  add_insecure_params_option(cmd, a->insecure, InsecureUse::picks_ring);
  cmd->add_flag("--json", a->json, "Print the breakdown as JSON on stdout (progress on stderr)");
  cmd->callback([a] { run_bench_unet(*a); });
}

Registrar reg("bench_unet", &setup_bench_unet);

}  // namespace
}  // namespace cryptounet::cli
