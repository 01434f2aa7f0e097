// `cryptounet bench unet`: one encrypted inference of a model (random input in [0, 1], keys made
// here) through the timing backend wrapper: the time shares of each operation class and the time
// of each layer, so that the next person sees where an inference goes without a profiler.
// --images K runs K inferences of the same plan with one plaintext cache (encode once): the
// breakdown is the first's; the later ones show what a server session or a batch pays per image
// (they also find the buffer pool warm, so part of their gain is not the cache's).
// With --json: {"model", "threads", "infer_s", "op_classes": {class: {seconds, share}},
// "layers": [{name, op, level, seconds, share, rotations, ...}], "images": [{infer_s, encodings}],
// "encoded_bytes_planned", "encode_cache_bytes", "peak_rss_bytes"} on stdout.
#include "cli/command.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/he/backends/encode_cache.h"
#include "cryptounet/he/backends/timed_backend.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/math/parallel.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
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
  int images = 1;
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
  std::fprintf(stderr, "bench unet: %s, N=2^%d, %zu Q primes, %d thread(s); running %d inference(s)\n",
               graph.name.c_str(), plan.log_n, plan.log_q.size(), ctx->pool().size(), a.images);

  nn::CkksBackend backend(ctx, &evk);
  nn::TimedBackend<nn::CkksBackend> timed(backend);
  nn::ExecReport report;
  nn::EncodeCache cache;
  nn::RunOptions ro = progress_bar_options("infer");
  ro.encodings = &cache;
  // Serial vs parallel CPU of the first image, per node and overall (see math::PoolAccount).
  const int sim = std::max(2, ctx->pool().size());
  math::set_pool_accounting(sim);
  std::map<int, math::SerialSplit> node_share;
  math::SerialSplit whole;
  std::uint64_t regions = 0;  // parallel regions of the first image
  math::CpuSnapshot last;
  bool first_image = true;
  ro.progress = [bar = ro.progress, &last, &node_share, &first_image, sim](int done, int total,
                                                                           const std::string& name) {
    const math::CpuSnapshot now = math::cpu_snapshot();
    if (first_image) node_share[done - 1] = math::serial_split(last, now, sim);
    last = now;
    if (bar) bar(done, total, name);
  };
  std::vector<std::pair<double, long>> per_image;  // (seconds, encodings)
  nn::OpTimes first_times, first_serial, first_parallel;
  for (int k = 0; k < a.images; ++k) {
    std::vector<ckks::Ciphertext> input = k + 1 < a.images ? in : std::move(in);
    nn::ExecReport r;
    const auto t0 = std::chrono::steady_clock::now();
    const math::CpuSnapshot start = math::cpu_snapshot();
    last = start;
    (void)nn::run_encrypted(timed, graph, plan, std::move(input), &r, ro);
    per_image.emplace_back(seconds_since(t0), r.total.encodings);
    if (k == 0) {
      const math::CpuSnapshot end = math::cpu_snapshot();
      whole = math::serial_split(start, end, sim);
      regions = end.pool.regions - start.pool.regions;
      first_image = false;
      report = std::move(r);
      first_times = timed.times();
      first_serial = timed.serial_cpu();
      first_parallel = timed.parallel_cpu();
    }
  }
  math::set_pool_accounting(0);
  const double infer_s = per_image.front().first;
  const nn::OpTimes& ot = first_times;
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
    const std::vector<std::pair<double, double>> cpu_classes = {
        {first_serial.key_switch, first_parallel.key_switch}, {first_serial.products, first_parallel.products},
        {first_serial.encode, first_parallel.encode},         {first_serial.rescale, first_parallel.rescale},
        {first_serial.add, first_parallel.add}};
    for (std::size_t c = 0; c < classes.size(); ++c) {
      const auto& [name, s] = classes[c];
      oc[name] = {{"seconds", s}, {"share", share(s)}};
      if (c < cpu_classes.size()) {
        oc[name]["serial_cpu_s"] = cpu_classes[c].first;
        oc[name]["parallel_cpu_s"] = cpu_classes[c].second;
      }
    }
    j["op_classes"] = oc;
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    auto share_json = [](const math::SerialSplit& s) {
      return nlohmann::ordered_json{{"serial_cpu_s", s.serial_s},
                                    {"parallel_cpu_s", s.parallel_s},
                                    {"serial_fraction", s.fraction()},
                                    {"predicted_speedup", s.speedup()}};
    };
    for (const nn::LayerReport& l : report.layers) {
      const auto it = node_share.find(l.node);
      const math::SerialSplit ls = it == node_share.end() ? math::SerialSplit{} : it->second;
      layers.push_back({{"name", l.name},
                        {"op", nn::op_name(l.kind)},
                        {"level", l.level},
                        {"seconds", l.seconds},
                        {"share", share(l.seconds)},
                        {"rotations", l.counts.rotations},
                        {"relins", l.counts.relins},
                        {"pt_products", l.counts.pt_products},
                        {"const_products", l.counts.scalar_products},
                        {"encodings", l.counts.encodings},
                        {"serial_cpu_s", ls.serial_s},
                        {"parallel_cpu_s", ls.parallel_s}});
    }
    j["layers"] = layers;
    j["cpu"] = share_json(whole);
    j["cpu"]["simulated_threads"] = sim;
    j["cpu"]["parallel_regions"] = regions;
    nlohmann::ordered_json imgs = nlohmann::ordered_json::array();
    for (const auto& [sec, enc] : per_image) imgs.push_back({{"infer_s", sec}, {"encodings", enc}});
    j["images"] = imgs;
    j["encoded_bytes_planned"] = nn::plan_sizes(plan).encoded_bytes;
    j["encode_cache_bytes"] = cache.bytes();
    j["peak_rss_bytes"] = peak_rss_bytes();
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("bench unet: %s, inference %.2f s on %d thread(s)\n", graph.name.c_str(), infer_s, ctx->pool().size());
  std::printf("%-24s %10s %7s\n", "operation class", "seconds", "share");
  for (const auto& [name, s] : classes) std::printf("%-24s %10.3f %6.1f%%\n", name.c_str(), s, 100.0 * share(s));
  print_exec_report(plan, report);
  std::printf("CPU of the inference: %.2f s serial (only one thread works), %.2f s parallel: serial fraction "
              "%.1f%%, predicted %d-thread speedup %.2fx\n",
              whole.serial_s, whole.parallel_s, 100.0 * whole.fraction(), sim, whole.speedup());
  std::printf("encoded plaintexts: planned at most %.1f MiB, cached %.1f MiB (budget %.0f MiB)\n",
              nn::plan_sizes(plan).encoded_bytes / 1048576.0, cache.bytes() / 1048576.0, cache.budget() / 1048576.0);
  for (std::size_t k = 1; k < per_image.size(); ++k)
    std::printf("image %zu: inference %.2f s, %ld encodings\n", k + 1, per_image[k].first, per_image[k].second);
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
  cmd->add_option("--images", a->images, "Inferences of the same plan with one plaintext cache (default 1)")
      ->check(CLI::Range(1, 100));
  cmd->callback([a] { run_bench_unet(*a); });
}

Registrar reg("bench_unet", &setup_bench_unet);

}  // namespace
}  // namespace cryptounet::cli
