// `cryptounet infer` (server): runs the model on an encrypted input with the client's public
// evaluation keys. Its inputs hold no secret key; it learns nothing about the image or mask.
#include "cli/command.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/nn/he_files.h"
#include "cryptounet/nn/he_server.h"
#include "cryptounet/nn/model_card.h"
#include "cryptounet/nn/plan_io.h"

#include <chrono>
#include <cstdio>
#include <memory>

namespace cryptounet::cli {
namespace {

struct InferArgs {
  std::string model, plan, eval_keys, input, out;
  int threads = 0;
  bool report = false;
};

void setup_infer(CLI::App& root) {
  auto a = std::make_shared<InferArgs>();
  CLI::App* cmd = root.add_subcommand(
      "infer", "Server: run a model on an encrypted input (evaluation keys only, no secret key)");
  cmd->add_option("--model", a->model, "ONNX model the plan was made for")->required()->check(CLI::ExistingFile);
  cmd->add_option("--plan", a->plan, "Plan file")->required();
  cmd->add_option("--eval-keys", a->eval_keys, "The client's eval.keys")->required();
  cmd->add_option("input", a->input, "Encrypted input (in.ct)")->required();
  cmd->add_option("-o,--out", a->out, "Encrypted output to write (out.ct)")->required();
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(kNonNegative);
  cmd->add_flag("--report", a->report,
                "Print per-layer wall time, operation counts done, levels and peak memory");
  cmd->callback([a] {
    const nn::PlanFile pf = nn::read_plan_file(a->plan);
    const std::string model_fp = nn::model_file_fingerprint(a->model);
    if (model_fp != pf.model_fingerprint)
      throw InvalidArgument("the plan '" + a->plan + "' was made for another model ('" + pf.model_name +
                            "', fingerprint " + pf.model_fingerprint.substr(0, 16) + "…); '" + a->model +
                            "' has fingerprint " + model_fp.substr(0, 16) +
                            "…; run `cryptounet plan --model " + a->model + "`");
    const nn::Graph graph = nn::load_model(a->model);
    const std::uint64_t plan_fp = nn::plan_fingerprint(pf);
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = a->threads});
    auto t0 = std::chrono::steady_clock::now();
    const ckks::EvaluationKeys evk = ckks::load_evaluation_keys_file(
        a->eval_keys, *ctx, nn::max_eval_keys_file_bytes(*ctx, pf.plan.rotation_steps.size()));
    const std::uint64_t key_id = nn::evaluation_key_id(evk);
    nn::EncryptedTensor in = nn::read_encrypted_tensor(
        a->input, *ctx, nn::max_tensor_file_bytes(*ctx, pf.plan.input().layout.team_size()));
    nn::check_encrypted_tensor(in, nn::TensorRole::input, plan_fp, key_id, "'" + a->input + "'");
    const double load_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    nn::ExecReport report;
    nn::EncryptedTensor out;
    out.cts = nn::infer_encrypted(ctx, graph, pf.plan, evk, std::move(in.cts), &report,
                                  progress_bar_options("infer"));
    const double run_s = seconds_since(t0);
    out.plan = plan_fp;
    out.key_id = key_id;
    out.role = nn::TensorRole::output;
    const auto bytes = nn::encode_encrypted_tensor(out, *ctx);
    write_file_atomic(a->out, bytes);
    std::printf("%s -> %s: model %s, %zu output ciphertext(s) at level %d (%s), keys+input loaded in %.2f s, "
                "inference %.2f s (%d threads)\n",
                a->input.c_str(), a->out.c_str(), graph.name.c_str(), out.cts.size(), pf.plan.output_level,
                human_bytes(static_cast<double>(bytes.size())).c_str(), load_s, run_s, ctx->pool().size());
    if (a->report) print_exec_report(pf.plan, report);
  });
}

Registrar reg("infer", &setup_infer);

}  // namespace
}  // namespace cryptounet::cli
