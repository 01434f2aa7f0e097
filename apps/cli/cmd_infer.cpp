// `cryptounet infer` (server): runs the model on encrypted inputs with the client's public
// evaluation keys. Its inputs hold no secret key; it learns nothing about the image or mask.
//
// One input and `-o FILE`, or several inputs and `-o FOLDER` (each output FOLDER/STEM.out.ct, STEM
// the input's name without .ct): the batch form. Under an MPI launcher (`mpirun -np R cryptounet
// infer ...`) the inputs are shared across the ranks by the distributed work queue: rank 0 reads
// the inputs and writes the outputs, every rank computes, a rank that finishes early takes the next
// input. Each output is the same ciphertext, byte for byte, as the single-process run's.
#include "cli/command.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/distributed/work_queue.h"
#include "cryptounet/distributed/world.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>

namespace cryptounet::cli {
namespace {

namespace fs = std::filesystem;

struct InferArgs {
  std::string model, plan, eval_keys, out;
  std::vector<std::string> inputs;
  int threads = 0;
  bool report = false;
};

// Output path of each input: `out` itself for one input, else out/STEM.out.ct.
std::vector<std::string> output_paths(const InferArgs& a) {
  if (a.inputs.size() == 1) return {a.out};
  std::vector<std::string> outs;
  std::set<std::string> seen;
  for (const std::string& in : a.inputs) {
    std::string stem = fs::path(in).filename().string();
    if (stem.size() > 3 && stem.ends_with(".ct")) stem.resize(stem.size() - 3);
    const std::string out = (fs::path(a.out) / (stem + ".out.ct")).string();
    if (!seen.insert(out).second)
      throw InvalidArgument("infer: two inputs would both write '" + out + "'; rename one of them");
    std::error_code ec;
    if (fs::equivalent(in, out, ec))
      throw InvalidArgument("infer: the output '" + out + "' is the input itself; choose another -o folder");
    outs.push_back(out);
  }
  return outs;
}

// Item results travel as: f64 seconds of inference, i32 rank, then the output tensor file bytes.
std::vector<std::uint8_t> frame_result(double seconds, int rank, const std::vector<std::uint8_t>& file) {
  std::vector<std::uint8_t> out(12 + file.size());
  std::memcpy(out.data(), &seconds, 8);
  std::memcpy(out.data() + 8, &rank, 4);
  std::memcpy(out.data() + 12, file.data(), file.size());
  return out;
}

void run_infer(const InferArgs& a) {
  distributed::World& world = distributed::World::get();
  distributed::run_or_fail(world, [&] {
    const bool root = world.rank() == 0;
    const std::vector<std::string> outs = output_paths(a);
    if (!world.distributed() && !fs::is_regular_file(a.model))
      throw InvalidArgument("--model: no such file: " + a.model);
    const std::string plan_path = world.shared_file(a.plan, std::uint64_t{1} << 26);
    const std::string model_path = world.shared_file(a.model, std::uint64_t{1} << 31);
    const nn::PlanFile pf = nn::read_plan_file(plan_path);
    const std::string model_fp = nn::model_file_fingerprint(model_path);
    if (model_fp != pf.model_fingerprint)
      throw InvalidArgument("the plan '" + a.plan + "' was made for another model ('" + pf.model_name +
                            "', fingerprint " + pf.model_fingerprint.substr(0, 16) + "…); '" + a.model +
                            "' has fingerprint " + model_fp.substr(0, 16) + "…; run `cryptounet plan --model " +
                            a.model + "`");
    const nn::Graph graph = nn::load_model(model_path);
    const std::uint64_t plan_fp = nn::plan_fingerprint(pf);
    const int threads = world.threads_per_rank(a.threads);
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = threads});
    auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t max_keys = nn::max_eval_keys_file_bytes(*ctx, pf.plan.rotation_steps.size());
    const std::string keys_path = world.shared_file(a.eval_keys, max_keys);
    const ckks::EvaluationKeys evk = ckks::load_evaluation_keys_file(keys_path, *ctx, max_keys);
    const std::uint64_t key_id = nn::evaluation_key_id(evk);
    const std::uint64_t max_in = nn::max_tensor_file_bytes(*ctx, pf.plan.input().layout.team_size());
    const double keys_s = seconds_since(t0);
    if (root && a.inputs.size() > 1) fs::create_directories(a.out);

    // Rank 0: read and check an input file (the check names the file).
    auto load = [&](std::size_t i) {
      // read_encrypted_tensor names a file of other parameters or another kind before its size.
      const nn::EncryptedTensor t = nn::read_encrypted_tensor(a.inputs[i], *ctx, max_in);
      nn::check_encrypted_tensor(t, nn::TensorRole::input, plan_fp, key_id, "'" + a.inputs[i] + "'");
      return read_file(a.inputs[i], max_in);
    };
    std::mutex report_mutex;
    std::map<std::size_t, nn::ExecReport> reports;  // of the inputs rank 0 computed
    // Every rank: decode, infer, encode.
    auto compute = [&](std::size_t i, std::vector<std::uint8_t> bytes) {
      const std::string what = "'" + a.inputs[i] + "'";
      nn::EncryptedTensor in = nn::decode_encrypted_tensor(bytes, *ctx, what);
      bytes = {};
      nn::check_encrypted_tensor(in, nn::TensorRole::input, plan_fp, key_id, what);
      const auto start = std::chrono::steady_clock::now();
      nn::ExecReport report;
      nn::EncryptedTensor out;
      const bool bar = !world.distributed() && a.inputs.size() == 1;
      out.cts = nn::infer_encrypted(ctx, graph, pf.plan, evk, std::move(in.cts), &report,
                                    bar ? progress_bar_options("infer") : nn::RunOptions{});
      const double run_s = seconds_since(start);
      out.plan = plan_fp;
      out.key_id = key_id;
      out.role = nn::TensorRole::output;
      if (root && a.report) {
        std::lock_guard lock(report_mutex);
        reports[i] = std::move(report);
      }
      return frame_result(run_s, world.rank(), nn::encode_encrypted_tensor(out, *ctx));
    };
    // Rank 0: write each output as it comes.
    auto store = [&](std::size_t i, std::vector<std::uint8_t> result) {
      double run_s = 0;
      int rank = 0;
      std::memcpy(&run_s, result.data(), 8);
      std::memcpy(&rank, result.data() + 8, 4);
      const std::span<const std::uint8_t> file(result.data() + 12, result.size() - 12);
      write_file_atomic(outs[i], file);
      std::printf("%s -> %s: model %s, %zu output ciphertext(s) at level %d (%s), inference %.2f s (%s%d threads)\n",
                  a.inputs[i].c_str(), outs[i].c_str(), graph.name.c_str(), static_cast<std::size_t>(pf.plan.output().layout.team_size()),
                  pf.plan.output_level, human_bytes(static_cast<double>(file.size())).c_str(), run_s,
                  world.distributed() ? ("rank " + std::to_string(rank) + ", ").c_str() : "", threads);
      std::fflush(stdout);
      if (a.report) {
        std::lock_guard lock(report_mutex);
        auto it = reports.find(i);
        if (it != reports.end()) print_exec_report(pf.plan, it->second);
      }
    };
    distributed::QueueOptions options;
    if (root && a.inputs.size() > 1)
      options.progress = [](std::size_t done, std::size_t count) {
        std::fprintf(stderr, "infer: %zu/%zu inputs done\n", done, count);
      };
    const distributed::QueueStats stats = distributed::run_work_queue(world, a.inputs.size(), load, compute, store,
                                                                      options);
    if (!root) return;
    std::printf("keys loaded in %.2f s; %zu input(s) in %.2f s", keys_s, a.inputs.size(), stats.wall_s);
    if (world.distributed()) {
      std::printf(" on %d ranks (%d threads each); inputs per rank:", world.size(), threads);
      for (std::size_t r = 0; r < stats.items_per_rank.size(); ++r)
        std::printf(" %zu (%.1f s busy)", stats.items_per_rank[r], stats.busy_s_per_rank[r]);
      std::printf("; rank 0 sent %s, received %s", human_bytes(static_cast<double>(stats.bytes_sent)).c_str(),
                  human_bytes(static_cast<double>(stats.bytes_received)).c_str());
    }
    std::printf("\n");
  });
}

void setup_infer(CLI::App& root) {
  auto a = std::make_shared<InferArgs>();
  CLI::App* cmd = root.add_subcommand(
      "infer",
      "Server: run a model on encrypted inputs (evaluation keys only, no secret key); under `mpirun -np R` "
      "the inputs are shared across R ranks");
  cmd->add_option("--model", a->model, "ONNX model the plan was made for")->required();
  cmd->add_option("--plan", a->plan, "Plan file")->required();
  cmd->add_option("--eval-keys", a->eval_keys,
                  "The client's eval.keys (under MPI: read by each rank; ranks that cannot read the path get "
                  "rank 0's copy, sent once)")
      ->required();
  cmd->add_option("inputs", a->inputs, "Encrypted input(s) (in.ct ...)")->required();
  cmd->add_option("-o,--out", a->out,
                  "Encrypted output to write (out.ct); with several inputs a folder that gets STEM.out.ct for "
                  "each input STEM.ct")
      ->required();
  cmd->add_option("--threads", a->threads,
                  "Threads per process (0 = all cores; under MPI the cores of a host are divided among its ranks)")
      ->check(kNonNegative);
  cmd->add_flag("--report", a->report,
                "Print per-layer wall time, operation counts done, levels and peak memory (for each input that "
                "rank 0 computed)");
  cmd->callback([a] { run_infer(*a); });
}

Registrar reg("infer", &setup_infer);

}  // namespace
}  // namespace cryptounet::cli
