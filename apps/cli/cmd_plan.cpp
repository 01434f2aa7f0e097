// `cryptounet plan`: the server plans a model (parameters, layouts, rotation steps, predicted
// costs), prints the cost table and writes the plan file that clients make their keys for.
#include "cli/command.h"

#include "cryptounet/nn/model_card.h"
#include "cryptounet/nn/plan_io.h"
#include "cryptounet/nn/planner.h"

#include <cstdio>
#include <iostream>
#include <memory>

namespace cryptounet::cli {
namespace {

struct PlanArgs {
  std::string model, out;
  int batch = 0;
  int insecure_log_n = 0;
};

void setup_plan(CLI::App& root) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* cmd = root.add_subcommand(
      "plan", "Plan a model for encrypted inference and write the plan file clients need");
  cmd->add_option("--model", a->model, "ONNX model (its .card.json beside it is read if present)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--batch", a->batch,
                  "Throughput mode: this many images per ciphertext set (default: latency mode, "
                  "one image)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--insecure-test-params", a->insecure_log_n,
                  "INSECURE, tests and quick demos only: ring degree N=2^LOGN (10..16) without "
                  "the 128-bit check")
      ->check(CLI::Range(10, 16));
  cmd->add_option("-o,--out", a->out, "Plan file to write")->required();
  cmd->callback([a] {
    const nn::Graph graph = nn::load_model(a->model);
    nn::PlanOptions opt;
    if (a->batch > 0) {
      opt.mode = packing::PackingMode::throughput;
      opt.batch = a->batch;
    }
    if (a->insecure_log_n > 0) {
      opt.log_n = a->insecure_log_n;
      opt.insecure_for_tests = true;
    }
    nn::PlanFile file;
    file.plan = nn::make_plan(graph, opt);
    file.model_name = graph.name;
    file.model_fingerprint = nn::model_file_fingerprint(a->model);
    nn::write_plan_file(a->out, file);
    std::cout << "model " << graph.name << " (" << graph.parameter_count()
              << " parameters, depth " << graph.depth() << ")\n";
    nn::print_cost_table(file.plan, std::cout);
    const nn::PlanSizes sz = nn::plan_sizes(file.plan);
    std::printf("seeded sizes: evaluation keys ~%.1f MiB, input ~%.2f MiB per run, output %.2f MiB\n",
                sz.eval_key_bytes / 2 / 1048576.0, sz.input_bytes / 2 / 1048576.0,
                sz.output_bytes / 1048576.0);
    if (file.plan.insecure_for_tests)
      std::printf("WARNING: insecure test parameters (N=2^%d): for tests and quick demos only\n",
                  file.plan.log_n);
    std::printf("wrote %s (plan %016llx)\n", a->out.c_str(),
                static_cast<unsigned long long>(nn::plan_fingerprint(file)));
  });
}

Registrar reg("plan", &setup_plan);

}  // namespace
}  // namespace cryptounet::cli
