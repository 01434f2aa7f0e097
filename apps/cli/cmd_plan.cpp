// `cryptounet plan`: the server plans a model (parameters, layouts, rotation steps, predicted
// costs), prints the cost table and writes the plan file that clients make their keys for.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/serialize.h"

#include "cryptounet/he/plan/planner.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/plan_io.h"

#include <cstdio>
#include <iostream>
#include <memory>

namespace cryptounet::cli {
namespace {

struct PlanArgs {
  std::string model, out;
  int batch = 0;
  int mux = 0;
  bool json = false;
  InsecureParams insecure;
};

void setup_plan(CLI::App& root) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* cmd = root.add_subcommand(
      "plan", "Plan a model for encrypted inference and write the plan file clients need");
  add_model_option(cmd, a->model);
  cmd->add_option("--batch", a->batch,
                  "Throughput mode: this many images per ciphertext set (default: latency mode, "
                  "one image)")
      ->check(kPositive);
  add_mux_option(cmd, a->mux);
  add_insecure_params_option(cmd, a->insecure, InsecureUse::picks_ring);
  cmd->add_option("-o,--out", a->out, "Plan file to write")->required();
  add_json_flag(cmd, a->json);
  cmd->callback([a] {
    JsonOutput out(a->json);
    const nn::Graph graph = nn::load_model(a->model);
    nn::PlanOptions opt;
    if (a->batch > 0) {
      opt.mode = packing::PackingMode::throughput;
      opt.batch = a->batch;
      opt.mux = plan_mux(a->mux);  // multiplexes only when the batch needs more than R rows
    }
    apply_insecure_params(a->insecure, opt);
    nn::PlanFile file;
    file.plan = nn::make_plan(graph, opt);
    file.model_name = graph.name;
    file.mask_cleanup = graph.mask_cleanup;
    file.model_fingerprint = nn::model_file_fingerprint(a->model);
    nn::write_plan_file(a->out, file);
    std::cout << "model " << graph.name << " (" << graph.parameter_count()
              << " parameters, depth " << graph.depth() << ")\n";
    nn::print_cost_table(file.plan, std::cout);
    // Exact file sizes in the serialised (seeded, bit-packed) formats.
    auto ctx = ckks::Context::create(nn::plan_params(file.plan), ExecOptions{.threads = 1});
    const std::vector<int> in_levels(file.plan.input().layout.team_size(), file.plan.input_level);
    const std::vector<int> out_levels(file.plan.output().layout.team_size(), file.plan.output_level);
    const auto keys_bytes = ckks::evaluation_keys_file_size(*ctx, true, file.plan.rotation_steps.size());
    const auto in_bytes = ckks::ciphertext_set_file_size(*ctx, in_levels, true);
    const auto out_bytes = ckks::ciphertext_set_file_size(*ctx, out_levels, false);
    std::printf("files: eval.keys %s (relinearisation + %zu Galois keys, seeded), input %s (seeded), "
                "output %s per run\n",
                human_bytes(static_cast<double>(keys_bytes)).c_str(), file.plan.rotation_steps.size(),
                human_bytes(static_cast<double>(in_bytes)).c_str(),
                human_bytes(static_cast<double>(out_bytes)).c_str());
    if (file.plan.insecure_for_tests)
      std::printf("WARNING: insecure test parameters (N=2^%d): for tests and quick demos only\n",
                  file.plan.log_n);
    std::printf("wrote %s (plan %s)\n", a->out.c_str(), hex64(nn::plan_fingerprint(file)).c_str());
    auto& j = out.json();
    j["plan_file"] = a->out;
    j["plan"] = hex64(nn::plan_fingerprint(file));
    j["model"] = graph.name;
    j["parameters"] = graph.parameter_count();
    j["depth"] = file.plan.depth;
    j["log_n"] = file.plan.log_n;
    j["log_q"] = file.plan.log_q;
    j["log_p"] = file.plan.log_p;
    j["log_scale"] = file.plan.log_scale;
    j["dnum"] = file.plan.dnum;
    j["security"] = file.plan.insecure_for_tests ? "insecure_for_tests" : "128-bit";
    j["batch"] = file.plan.batch;
    j["rotation_steps"] = file.plan.rotation_steps.size();
    j["eval_keys_bytes"] = keys_bytes;
    j["input_bytes"] = in_bytes;
    j["output_bytes"] = out_bytes;
    out.emit();
  });
}

Registrar reg("plan", &setup_plan);

}  // namespace
}  // namespace cryptounet::cli
