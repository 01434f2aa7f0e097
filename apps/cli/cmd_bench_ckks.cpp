// `cryptounet bench ckks`: times every CKKS operation of our engine at one of the reference
// parameter sets (P1/P2/P3, the sets of ../shared/anchors/he-baselines.md) and prints a table, or
// with --json an object mapping each operation's name to {median_ms, min_ms, max_ms}.
// Each operation runs once untimed, then --reps times; inputs are random reals in [-1, 1] in all
// slots at the top level, scale 2^40, as in the baseline measurements.
#include "cli/command.h"

#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/params.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/ntt.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace cryptounet::cli {
namespace {

struct BenchOptions {
  std::string params = "P1";
  int threads = 1;
  int reps = 0;  // 0: 11 for P1/P2, 5 for P3
  bool json = false;
  std::string only;  // comma-separated operation names, empty = all
};

struct Stats {
  double median_ms, min_ms, max_ms;
};

Stats summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const std::size_t n = ms.size();
  double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return {median, ms.front(), ms.back()};
}

/// Runs `setup` (untimed) then `op` (timed) reps+1 times, dropping the first (warm-up) run.
Stats time_op(int reps, const std::function<void()>& setup, const std::function<void()>& op) {
  std::vector<double> ms;
  for (int r = 0; r <= reps; ++r) {
    setup();
    auto t0 = std::chrono::steady_clock::now();
    op();
    auto t1 = std::chrono::steady_clock::now();
    if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return summarise(std::move(ms));
}

ckks::Params params_by_name(const std::string& name) {
  if (name == "P1") return ckks::presets::P1();
  if (name == "P2") return ckks::presets::P2();
  if (name == "P3") return ckks::presets::P3();
  throw InvalidArgument("bench ckks: unknown parameter set '" + name + "' (use P1, P2 or P3)");
}

void run_bench(const BenchOptions& opt) {
  using namespace ckks;
  const Params params = params_by_name(opt.params);
  const int reps = opt.reps > 0 ? opt.reps : (opt.params == "P3" ? 5 : 11);
  auto ctx = Context::create(params, ExecOptions{opt.threads});
  auto want = [&](const std::string& op) {
    if (opt.only.empty()) return true;
    std::string list = "," + opt.only + ",";
    return list.find("," + op + ",") != std::string::npos;
  };
  std::fprintf(stderr, "bench ckks: %s  N=2^%d  %zu Q primes + %zu P primes (log2 QP = %.0f, dnum %d)  threads %d  reps %d\n",
               opt.params.c_str(), params.log_n(), params.q().size(), params.p().size(),
               params.log_qp(), params.dnum(), ctx->pool().size(), reps);

  KeyGenerator keygen(ctx);
  auto t0 = std::chrono::steady_clock::now();
  SecretKey sk = keygen.secret_key();
  PublicKey pk = keygen.public_key(sk);
  EvaluationKeys keys;
  keys.relin = keygen.relin_key(sk);
  std::vector<int> steps{1, 2, 3, 4, 5, 6, 7, 8};
  keys.galois = keygen.galois_keys(sk, steps);
  auto t1 = std::chrono::steady_clock::now();
  std::fprintf(stderr, "bench ckks: keys (secret, public, relin, 8 Galois) made in %.2f s\n",
               std::chrono::duration<double>(t1 - t0).count());

  Encoder encoder(ctx);
  Encryptor encryptor(ctx, pk);
  Encryptor sk_encryptor(ctx, sk);
  Decryptor decryptor(ctx, sk);
  Evaluator eval(ctx, &keys);

  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::vector<double> x(params.slots()), y(params.slots());
  for (auto& v : x) v = uni(rng);
  for (auto& v : y) v = uni(rng);
  const int top = params.max_level();
  const double scale = params.default_scale();
  Plaintext px = encoder.encode(x, top, scale);
  Plaintext py = encoder.encode(y, top, scale);
  Ciphertext cx = encryptor.encrypt(px);
  Ciphertext cy = encryptor.encrypt(py);
  Ciphertext product = eval.mul(cx, cy);
  Ciphertext product_relin = eval.relinearize(product);

  std::map<std::string, Stats> results;
  std::vector<std::string> order;
  auto record = [&](const std::string& name, Stats s) {
    results[name] = s;
    order.push_back(name);
    if (!opt.json)
      std::fprintf(stderr, "  %-28s %10.3f ms  (min %.3f, max %.3f)\n", name.c_str(), s.median_ms,
                   s.min_ms, s.max_ms);
  };
  auto none = [] {};
  Plaintext pt_sink;
  Ciphertext ct_sink;
  std::vector<Ciphertext> cts_sink;

  if (want("encode")) record("encode", time_op(reps, none, [&] { pt_sink = encoder.encode(x, top, scale); }));
  if (want("encrypt_pk")) record("encrypt_pk", time_op(reps, none, [&] { ct_sink = encryptor.encrypt(px); }));
  if (want("encrypt_sk")) record("encrypt_sk", time_op(reps, none, [&] { ct_sink = sk_encryptor.encrypt(px); }));
  if (want("add")) record("add", time_op(reps, none, [&] { ct_sink = eval.add(cx, cy); }));
  if (want("add_inplace")) {
    Ciphertext acc = cx;
    record("add_inplace", time_op(reps, none, [&] { eval.add_inplace(acc, cy); }));
  }
  if (want("mul_plain")) record("mul_plain", time_op(reps, none, [&] { ct_sink = eval.mul_plain(cx, py); }));
  if (want("mul_const")) record("mul_const", time_op(reps, none, [&] { ct_sink = eval.mul_const(cx, 0.37, scale); }));
  if (want("mul_ct_ct_norelin")) record("mul_ct_ct_norelin", time_op(reps, none, [&] { ct_sink = eval.mul(cx, cy); }));
  if (want("relinearize")) record("relinearize", time_op(reps, none, [&] { ct_sink = eval.relinearize(product); }));
  if (want("mul_ct_ct_relin")) record("mul_ct_ct_relin", time_op(reps, none, [&] { ct_sink = eval.mul_relin(cx, cy); }));
  if (want("rescale")) record("rescale", time_op(reps, none, [&] { ct_sink = eval.rescale(product_relin); }));
  if (want("rotate_1")) record("rotate_1", time_op(reps, none, [&] { ct_sink = eval.rotate(cx, 1); }));
  if (want("rotate_8steps_nohoist"))
    record("rotate_8steps_nohoist", time_op(reps, none, [&] {
             for (int s : steps) ct_sink = eval.rotate(cx, s);
           }));
  if (want("rotate_8steps_hoisted"))
    record("rotate_8steps_hoisted", time_op(reps, none, [&] { cts_sink = eval.rotate_hoisted(cx, steps); }));
  // Double hoisting: the eight rotations summed (one ModUp, one ModDown), as a baby-step group
  // of a linear transform uses them; the one-by-one form of the same sum for comparison.
  if (want("rotate_8steps_sum_nohoist"))
    record("rotate_8steps_sum_nohoist", time_op(reps, none, [&] {
             ct_sink = eval.rotate(cx, steps[0]);
             for (std::size_t s = 1; s < steps.size(); ++s) eval.add_inplace(ct_sink, eval.rotate(cx, steps[s]));
           }));
  if (want("rotate_8steps_hoisted_sum"))
    record("rotate_8steps_hoisted_sum", time_op(reps, none, [&] { ct_sink = eval.rotate_hoisted_sum(cx, steps); }));
  if (want("decrypt_decode"))
    record("decrypt_decode", time_op(reps, none, [&] { y = encoder.decode_real(decryptor.decrypt(cx)); }));

  const math::NttTables& tables = ctx->ntt(0);  // the 60-bit first prime, as in the baselines
  std::vector<std::uint64_t> limb(params.n());
  auto fill = [&] {
    for (auto& v : limb) v = rng() % params.q()[0];
  };
  const int ntt_reps = std::max(reps, 55);
  if (want("ntt_fwd_1limb")) record("ntt_fwd_1limb", time_op(ntt_reps, fill, [&] { math::ntt_forward(limb.data(), tables); }));
  if (want("ntt_inv_1limb")) record("ntt_inv_1limb", time_op(ntt_reps, fill, [&] { math::ntt_inverse(limb.data(), tables); }));

  if (opt.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& name : order) {
      const Stats& s = results[name];
      out[name] = {{"median_ms", s.median_ms}, {"min_ms", s.min_ms}, {"max_ms", s.max_ms}};
    }
    std::printf("%s\n", out.dump(2).c_str());
  }
}

void setup_bench_ckks(CLI::App& root) {
  CLI::App* group = subcommand_group(root, "bench", "Benchmarks of the CKKS engine and the encrypted U-Net");
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = group->add_subcommand(
      "ckks", "Time each CKKS operation (median/min/max ms) at the reference parameter sets P1-P3");
  cmd->add_option("--params", opt->params, "P1: N=2^14, Q=60+5x40; P2: N=2^15, Q=60+13x40; P3: N=2^16, Q=60+28x40")
      ->check(CLI::IsMember({"P1", "P2", "P3"}))
      ->capture_default_str();
  cmd->add_option("--threads", opt->threads, "Threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--reps", opt->reps, "Timed repetitions per operation (default 11, P3: 5)");
  cmd->add_option("--only", opt->only, "Comma-separated operation names to run (default: all)");
  cmd->add_flag("--json", opt->json, "Print {op: {median_ms, min_ms, max_ms}} as JSON on stdout");
  cmd->callback([opt] { run_bench(*opt); });
}

Registrar reg("bench_ckks", &setup_bench_ckks);

}  // namespace
}  // namespace cryptounet::cli
