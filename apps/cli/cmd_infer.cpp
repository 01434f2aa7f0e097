// `cryptounet infer` (server): runs the model on encrypted inputs with the client's public
// evaluation keys. Its inputs hold no secret key; it learns nothing about the image or mask.
//
// One input and `-o FILE`, or several inputs and `-o FOLDER` (each output FOLDER/STEM.out.ct, STEM
// the input's name without .ct): the batch form. Under an MPI launcher (`mpirun -np R cryptounet
// infer ...`) the inputs are shared across the ranks by the distributed work queue: rank 0 reads
// the inputs and writes the outputs, every rank computes, a rank that finishes early takes the next
// input. With --mpi (latency mode), the inputs one after the other, each with every layer split
// across the ranks (workflow/split_infer.h). Either way each output is the same ciphertext, byte
// for byte, as the single-process run's.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/distributed/work_queue.h"
#include "cryptounet/distributed/world.h"
#include "cryptounet/he/backends/encode_cache.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "cryptounet/workflow/shared_keys.h"
#include "cryptounet/workflow/split_infer.h"

#include <sys/resource.h>

#include <algorithm>
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
  bool mpi = false;
  bool json = false;
};

// CPU seconds (user + system) this process has used so far.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// User and system CPU seconds of this process so far.
struct CpuMark {
  double user = 0, sys = 0;
  static CpuMark now() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return {static_cast<double>(u.ru_utime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec),
            static_cast<double>(u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_stime.tv_usec)};
  }
};

// The phases of a run whose CPU time each rank reports: start-up (the program until infer begins),
// starting MPI, setup (plan, model, CKKS context), loading the keys, the inference.
constexpr const char* kPhases[] = {"start-up", "MPI start", "setup", "keys", "inference"};
constexpr std::size_t kPhaseCount = 5;

// Every rank's (user, system) CPU seconds per phase on rank 0 (collective): [rank][2 * phase + {0, 1}].
std::vector<std::vector<double>> phases_per_rank(distributed::World& world, const std::vector<CpuMark>& marks) {
  std::vector<double> mine;
  for (std::size_t p = 0; p < kPhaseCount; ++p) {
    const CpuMark a = p == 0 ? CpuMark{} : marks[p - 1], b = marks[p];
    mine.push_back(b.user - a.user);
    mine.push_back(b.sys - a.sys);
  }
  std::vector<std::uint8_t> bytes(mine.size() * 8);
  std::memcpy(bytes.data(), mine.data(), bytes.size());
  std::vector<std::vector<double>> out;
  for (const auto& b : world.allgather(bytes)) {
    std::vector<double> v(mine.size(), 0.0);
    if (b.size() == bytes.size()) std::memcpy(v.data(), b.data(), b.size());
    out.push_back(std::move(v));
  }
  return out;
}

// Every rank's `value` on rank 0 (collective), as "a, b, c".
std::string per_rank(distributed::World& world, double value) {
  std::vector<std::uint8_t> mine(8);
  std::memcpy(mine.data(), &value, 8);
  std::string out;
  for (const auto& b : world.allgather(mine)) {
    double v = 0;
    if (b.size() == 8) std::memcpy(&v, b.data(), 8);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.1f", out.empty() ? "" : ", ", v);
    out += buf;
  }
  return out;
}

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
  std::vector<CpuMark> marks{CpuMark::now()};  // the end of each phase (kPhases)
  distributed::World& world = distributed::World::get();
  marks.push_back(CpuMark::now());
  distributed::run_or_fail(world, [&] {
    const bool root = world.rank() == 0;
    JsonOutput json_out(a.json);
    auto& j = json_out.json();
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
    marks.push_back(CpuMark::now());
    auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t max_keys = nn::max_eval_keys_file_bytes(*ctx, pf.plan.rotation_steps.size());
    const std::string keys_path = world.shared_file(a.eval_keys, max_keys);
    // Under MPI each rank expands its share of the Galois keys and receives the others' (shared_keys.h).
    nn::SharedKeysReport keys_report;
    const ckks::EvaluationKeys evk = nn::load_evaluation_keys_shared(world, keys_path, *ctx, max_keys, &keys_report);
    const std::uint64_t key_id = nn::evaluation_key_id(evk);
    const std::uint64_t max_in = nn::max_tensor_file_bytes(*ctx, pf.plan.input().layout.team_size());
    const double keys_s = seconds_since(t0);
    marks.push_back(CpuMark::now());
    if (root && a.inputs.size() > 1) fs::create_directories(a.out);

    if (a.mpi) {  // latency mode: each input split across the ranks, one after the other
      // One split and one pair of exchange buffers for every input; with several inputs each rank also
      // keeps the plaintexts of its share of the layers (encoded for its first input only), as a
      // server that stays up would: the second input on is the latency of a warm server.
      nn::SplitInference split(world, ctx, graph, pf.plan, evk);
      nn::EncodeCache encodings;
      nn::ExecReport report;
      std::vector<nn::LayerExchange> exchange;
      std::vector<double> seconds;
      const double cpu0 = cpu_seconds();
      std::vector<std::uint8_t> bytes;
      for (std::size_t i = 0; i < a.inputs.size(); ++i) {
        const std::string in_path = world.shared_file(a.inputs[i], max_in);
        nn::EncryptedTensor in = nn::read_encrypted_tensor(in_path, *ctx, max_in);
        nn::check_encrypted_tensor(in, nn::TensorRole::input, plan_fp, key_id, "'" + a.inputs[i] + "'");
        report = {};
        exchange.clear();
        nn::RunOptions options = world.distributed() || a.inputs.size() > 1 ? nn::RunOptions{}
                                                                            : progress_bar_options("infer");
        options.encodings = a.inputs.size() > 1 ? &encodings : nullptr;
        const auto start = std::chrono::steady_clock::now();
        nn::EncryptedTensor out;
        out.cts = split.run(std::move(in.cts), &report, &exchange, options);
        seconds.push_back(seconds_since(start));
        if (!root) continue;
        out.plan = plan_fp;
        out.key_id = key_id;
        out.role = nn::TensorRole::output;
        bytes = nn::encode_encrypted_tensor(out, *ctx);
        write_file_atomic(outs[i], bytes);
        std::printf("%s -> %s: model %s, %zu output ciphertext(s) at level %d (%s), keys loaded in %.2f s, "
                    "inference %.2f s in latency mode on %d rank(s) (%d threads each)\n",
                    a.inputs[i].c_str(), outs[i].c_str(), graph.name.c_str(), out.cts.size(), pf.plan.output_level,
                    human_bytes(static_cast<double>(bytes.size())).c_str(), keys_s, seconds.back(), world.size(),
                    threads);
        std::fflush(stdout);
        if (a.inputs.size() > 1) std::fprintf(stderr, "infer: %zu/%zu inputs done\n", i + 1, a.inputs.size());
      }
      marks.push_back(CpuMark::now());
      const std::string cpu = per_rank(world, cpu_seconds() - cpu0);
      const std::vector<std::vector<double>> phases = phases_per_rank(world, marks);
      if (!root) return;
      if (a.inputs.size() > 1) {
        std::vector<double> sorted(seconds.begin() + 1, seconds.end());
        std::sort(sorted.begin(), sorted.end());
        std::printf("%zu inputs in latency mode: first %.2f s, then median %.2f s per input (min %.2f, max %.2f); "
                    "the table below is the last input's\n",
                    seconds.size(), seconds.front(), sorted[sorted.size() / 2], sorted.front(), sorted.back());
      }
      if (world.distributed()) {
        std::printf("%-4s %-18s %-16s %-7s %7s %6s %6s %9s %7s %7s %10s %10s %8s\n", "#", "node", "op", "split",
                    "outputs", "here", "in", "seconds", "cpu s", "sys s", "sent", "received", "xchg s");
        std::uint64_t sent = 0, received = 0;
        double exchange_s = 0, exchange_cpu = 0;
        for (const nn::LayerReport& l : report.layers) {
          const nn::LayerExchange* e = nullptr;
          for (const auto& x : exchange)
            if (x.node == l.node) e = &x;
          const int team = pf.plan.layers[static_cast<std::size_t>(l.node)].layout.team_size();
          const std::string in_here = e && e->inputs_here >= 0 ? std::to_string(e->inputs_here) : "-";
          std::printf("%-4d %-18.18s %-16s %-7s %7d %6d %6s %9.3f %7.3f %7.3f %10s %10s %8.3f\n", l.node,
                      l.name.c_str(), nn::op_name(l.kind), e ? e->mode.c_str() : "-", team, e ? e->computed_here : team,
                      in_here.c_str(), l.seconds, l.cpu_seconds, l.sys_seconds, human_bytes(e ? static_cast<double>(e->bytes_sent) : 0.0).c_str(),
                      human_bytes(e ? static_cast<double>(e->bytes_received) : 0.0).c_str(),
                      e ? e->exchange_seconds : 0.0);
          if (e) {
            sent += e->bytes_sent;
            received += e->bytes_received;
            exchange_s += e->exchange_seconds;
            exchange_cpu += e->exchange_cpu_seconds;
          }
        }
        std::printf("rank 0: %.3f s in layers (%.3f s of it exchanging ciphertexts, %.3f CPU s), %ld key switches "
                    "(one process: %ld), sent %s, received %s; peak RSS %s\nCPU seconds of the inference%s per rank: "
                    "%s\n",
                    report.seconds, exchange_s, exchange_cpu, report.total.key_switches(), pf.plan.total.key_switches(),
                    human_bytes(static_cast<double>(sent)).c_str(),
                    human_bytes(static_cast<double>(received)).c_str(), human_bytes(peak_rss_bytes()).c_str(),
                    a.inputs.size() > 1 ? " (all inputs)" : "", cpu.c_str());
        if (keys_report.host_shared_bytes > 0)
          std::printf("Galois keys expanded on rank 0: %zu, by the other ranks: %zu; one copy in memory the host's "
                      "ranks share (%s)\n",
                      keys_report.expanded_here, keys_report.received,
                      human_bytes(static_cast<double>(keys_report.host_shared_bytes)).c_str());
        else
          std::printf("Galois keys expanded on rank 0: %zu, received from the other ranks: %zu (%s)\n",
                      keys_report.expanded_here, keys_report.received,
                      human_bytes(static_cast<double>(keys_report.bytes_received)).c_str());
      } else {
        std::printf("CPU seconds of the inference%s: %s\n", a.inputs.size() > 1 ? " (all inputs)" : "", cpu.c_str());
        if (a.report) print_exec_report(pf.plan, report);
      }
      // CPU seconds per phase (user / system) of every rank: comparable under load, unlike wall time.
      std::printf("CPU seconds per phase (user/system):");
      for (const char* p : kPhases) std::printf(" %14s", p);
      std::printf("\n");
      for (std::size_t r = 0; r < phases.size(); ++r) {
        std::printf("  %-33s", ("rank " + std::to_string(r)).c_str());
        for (std::size_t p = 0; p < kPhaseCount; ++p) {
          char cell[32];
          std::snprintf(cell, sizeof cell, "%.2f/%.2f", phases[r][2 * p], phases[r][2 * p + 1]);
          std::printf(" %14s", cell);
        }
        std::printf("\n");
      }
      {
        // Per layer (rank 0's view): seconds; in a split run also the split and the bytes exchanged.
        auto layers = nlohmann::ordered_json::array();
        for (const nn::LayerReport& l : report.layers) {
          nlohmann::ordered_json x = {{"node", l.node}, {"name", l.name}, {"op", nn::op_name(l.kind)},
                                      {"seconds", l.seconds}, {"cpu_seconds", l.cpu_seconds},
                                      {"sys_seconds", l.sys_seconds},
                                      {"key_switches", l.counts.key_switches()}};
          for (const auto& e : exchange)
            if (e.node == l.node) {
              x["split"] = e.mode;
              x["outputs"] = e.outputs;
              x["outputs_here"] = e.computed_here;
              if (e.inputs_here >= 0) x["inputs_here"] = e.inputs_here;
              x["bytes_sent"] = e.bytes_sent;
              x["bytes_received"] = e.bytes_received;
              x["exchange_seconds"] = e.exchange_seconds;
              x["exchange_cpu_seconds"] = e.exchange_cpu_seconds;
            }
          layers.push_back(std::move(x));
        }
        j["layers"] = std::move(layers);
      }
      j["model"] = graph.name;
      j["mode"] = "latency";
      j["ranks"] = world.size();
      j["threads_per_rank"] = threads;
      j["keys_seconds"] = keys_s;
      {
        auto per_rank_phases = nlohmann::ordered_json::array();
        for (const auto& v : phases) {
          nlohmann::ordered_json x;
          for (std::size_t p = 0; p < kPhaseCount; ++p) x[kPhases[p]] = {{"user", v[2 * p]}, {"system", v[2 * p + 1]}};
          per_rank_phases.push_back(std::move(x));
        }
        j["cpu_phases"] = std::move(per_rank_phases);
      }
      j["outputs"] = nlohmann::ordered_json::array();
      for (std::size_t i = 0; i < a.inputs.size(); ++i)
        j["outputs"].push_back({{"input", a.inputs[i]}, {"output", outs[i]},
                                {"ciphertexts", pf.plan.output().layout.team_size()}, {"level", pf.plan.output_level},
                                {"seconds", seconds[i]}});
      json_out.emit();
      return;
    }

    // Rank 0: read and check an input file (the check names the file).
    auto load = [&](std::size_t i) {
      // read_encrypted_tensor names a file of other parameters or another kind before its size.
      const nn::EncryptedTensor t = nn::read_encrypted_tensor(a.inputs[i], *ctx, max_in);
      nn::check_encrypted_tensor(t, nn::TensorRole::input, plan_fp, key_id, "'" + a.inputs[i] + "'");
      return read_file(a.inputs[i], max_in);
    };
    std::mutex report_mutex;
    nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
    std::map<std::size_t, nn::ExecReport> reports;  // of the inputs rank 0 computed
    // Every rank: decode, infer, encode. With several inputs the plaintexts are encoded by a rank's first
    // input only; with one, nothing is kept (each plaintext's buffer goes back to the pool for the next:
    // keeping brain64's 432 MiB of them only meant that much more fresh memory to fault in).
    nn::EncodeCache encodings;
    const bool keep_encodings = a.inputs.size() > 1;
    auto compute = [&](std::size_t i, std::vector<std::uint8_t> bytes) {
      const std::string what = "'" + a.inputs[i] + "'";
      nn::EncryptedTensor in = nn::decode_encrypted_tensor(bytes, *ctx, what);
      bytes = {};
      nn::check_encrypted_tensor(in, nn::TensorRole::input, plan_fp, key_id, what);
      const auto start = std::chrono::steady_clock::now();
      nn::ExecReport report;
      nn::EncryptedTensor out;
      const bool bar = !world.distributed() && a.inputs.size() == 1;
      nn::RunOptions options = bar ? progress_bar_options("infer") : nn::RunOptions{};
      options.encodings = keep_encodings ? &encodings : nullptr;
      out.cts = nn::infer_encrypted(ctx, graph, pf.plan, evk, std::move(in.cts), &report, options);
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
      outputs.push_back({{"input", a.inputs[i]}, {"output", outs[i]},
                         {"ciphertexts", pf.plan.output().layout.team_size()}, {"level", pf.plan.output_level},
                         {"bytes", file.size()}, {"seconds", run_s}, {"rank", rank}});
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
    const double cpu0 = cpu_seconds();
    const distributed::QueueStats stats = distributed::run_work_queue(world, a.inputs.size(), load, compute, store,
                                                                      options);
    const std::string cpu = per_rank(world, cpu_seconds() - cpu0);
    if (!root) return;
    std::printf("keys loaded in %.2f s; %zu input(s) in %.2f s", keys_s, a.inputs.size(), stats.wall_s);
    if (world.distributed()) {
      std::printf(" on %d ranks (%d threads each); inputs per rank:", world.size(), threads);
      for (std::size_t r = 0; r < stats.items_per_rank.size(); ++r)
        std::printf(" %zu (%.1f s busy)", stats.items_per_rank[r], stats.busy_s_per_rank[r]);
      std::printf("; rank 0 sent %s, received %s; CPU seconds per rank: %s",
                  human_bytes(static_cast<double>(stats.bytes_sent)).c_str(),
                  human_bytes(static_cast<double>(stats.bytes_received)).c_str(), cpu.c_str());
    }
    std::printf("\n");
    j["model"] = graph.name;
    j["mode"] = "whole inputs";
    j["ranks"] = world.size();
    j["threads_per_rank"] = threads;
    j["keys_seconds"] = keys_s;
    j["wall_seconds"] = stats.wall_s;
    j["outputs"] = std::move(outputs);
    json_out.emit();
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
  cmd->add_flag("--mpi", a->mpi,
                "Latency mode under mpirun: each input in turn, every layer split across the ranks (several inputs: "
                "a warm server's stream, each rank encoding its share of the plaintexts once); prints per-layer "
                "times and bytes exchanged");
  cmd->add_flag("--report", a->report,
                "Print per-layer wall time, operation counts done, levels and peak memory (for each input that "
                "rank 0 computed)");
  add_json_flag(cmd, a->json);
  cmd->callback([a] { run_infer(*a); });
}

Registrar reg("infer", &setup_infer);

}  // namespace
}  // namespace cryptounet::cli
