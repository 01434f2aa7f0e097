// `cryptounet bench ckks`: times every CKKS operation of our engine at one of the reference
// parameter sets (P1/P2/P3, the sets of the project's SEAL/OpenFHE baseline measurements) and prints a table, or
// with --json an object mapping each operation's name to {median_ms, min_ms, max_ms} (plus a
// roofline object where one is stated, see below).
// Each operation runs once untimed, then --reps times; inputs are random reals in [-1, 1] in all
// slots at the top level, scale 2^40, as in the baseline measurements.
// Rooflines: the NTTs report butterflies per second against the peak IFMA butterfly rate (three
// 52-bit multiply-adds per butterfly; the multiply-add rate is measured here with independent
// chains); element-wise operations report bytes moved per second (every operand limb read once,
// every output limb written once) against the bandwidth of a simple stream kernel (c = a + b on
// three ciphertext-sized arrays, single thread) measured in the same run. Both peaks are printed.
#include "cli/command.h"
#include "cli/options.h"

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
#if defined(__AVX512F__) && defined(__AVX512IFMA__)
#include <immintrin.h>
#endif
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
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

struct Roofline {
  std::string metric;  // "butterflies/s" or "bytes/s"
  double per_op;       // butterflies or bytes per operation
  double peak;         // per second
};

// Single-thread stream bandwidth: c = a + b over arrays of `words` 64-bit words, best of 7 (bytes/s).
double stream_bandwidth(std::size_t words) {
  std::vector<std::uint64_t> a(words, 1), b(words, 2), c(words, 0);
  double best = 0;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < words; ++i) c[i] = a[i] + b[i];
    const auto t1 = std::chrono::steady_clock::now();
    best = std::max(best, 3.0 * 8.0 * static_cast<double>(words) / std::chrono::duration<double>(t1 - t0).count());
    a[r % words] = c[(r * 7) % words];  // keep the loop's result live
  }
  return best;
}

// Peak 52-bit multiply-adds per second (lanes x instructions), 0 without IFMA in this build.
double ifma_peak() {
#if defined(__AVX512F__) && defined(__AVX512IFMA__)
  __m512i acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm512_set1_epi64(k + 1);
  const __m512i x = _mm512_set1_epi64(0x123456789LL), y = _mm512_set1_epi64(0x987654321LL);
  constexpr long kIters = 2000000;
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < kIters; ++i)
      for (int k = 0; k < 12; ++k) acc[k] = _mm512_madd52lo_epu64(acc[k], x, y);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::max(best, 12.0 * 8.0 * kIters / std::chrono::duration<double>(t1 - t0).count());
  }
  alignas(64) long long lanes[8];
  volatile long long sink = 0;
  for (int k = 0; k < 12; ++k) {
    _mm512_store_si512(lanes, acc[k]);
    sink = sink + lanes[0];
  }
  (void)sink;
  return best;
#else
  return 0;
#endif
}

ckks::Params params_by_name(const std::string& name) {
  if (name == "P1") return ckks::presets::P1();
  if (name == "P2") return ckks::presets::P2();
  if (name == "P3") return ckks::presets::P3();
  throw InvalidArgument("bench ckks: unknown parameter set '" + name + "' (use P1, P2 or P3)");
}

/// Every operation `bench ckks` times, in the order it runs them.
const std::vector<std::string>& operation_names() {
  static const std::vector<std::string> names{
      "encode",         "encrypt_pk",      "encrypt_sk",     "add",
      "add_inplace",    "mul_plain",       "mul_const",      "mul_ct_ct_norelin",
      "relinearize",    "mul_ct_ct_relin", "rescale",        "rotate_1",
      "rotate_8steps_nohoist", "rotate_8steps_hoisted", "rotate_8steps_sum_nohoist",
      "rotate_8steps_hoisted_sum", "decrypt_decode", "ntt_fwd_1limb", "ntt_inv_1limb",
      "ntt_fwd_1limb_ifma", "ntt_inv_1limb_ifma"};
  return names;
}

/// The names of --only, each checked: an unknown name is an error that lists the known ones.
std::vector<std::string> parse_only(const std::string& only) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= only.size()) {
    const std::size_t comma = std::min(only.find(',', start), only.size());
    const std::string name = only.substr(start, comma - start);
    start = comma + 1;
    if (name.empty()) continue;
    const auto& known = operation_names();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw InvalidArgument("bench ckks: unknown operation '" + name + "' in --only (known: " + list + ")");
    }
    out.push_back(name);
  }
  if (out.empty()) throw InvalidArgument("bench ckks: --only names no operation");
  return out;
}

void run_bench(const BenchOptions& opt) {
  using namespace ckks;
  const std::vector<std::string> only = opt.only.empty() ? operation_names() : parse_only(opt.only);
  const Params params = params_by_name(opt.params);
  const int reps = opt.reps > 0 ? opt.reps : (opt.params == "P3" ? 5 : 11);
  auto ctx = Context::create(params, ExecOptions{opt.threads});
  auto want = [&](const std::string& op) {
    // Every operation this function times must be in operation_names() (what --only accepts).
    const auto& known = operation_names();
    if (std::find(known.begin(), known.end(), op) == known.end())
      throw std::logic_error("bench ckks: operation '" + op + "' is missing from operation_names()");
    return std::find(only.begin(), only.end(), op) != only.end();
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

  // Rooflines (see the top of this file).
  const std::size_t n = params.n(), L = static_cast<std::size_t>(top) + 1;
  const double limb_bytes = 8.0 * static_cast<double>(n), ct_bytes = 2.0 * static_cast<double>(L) * limb_bytes;
  const double bandwidth = stream_bandwidth(2 * L * n);
  const double fma52 = ifma_peak();
  const double butterflies = 0.5 * static_cast<double>(n) * params.log_n();
  std::fprintf(stderr, "bench ckks: stream bandwidth (c = a + b, 3 x %.1f MB, 1 thread) %.1f GB/s; ", ct_bytes / 1e6,
               bandwidth / 1e9);
  if (fma52 > 0) {
    std::fprintf(stderr, "IFMA peak %.2f G multiply-adds/s = %.2f G butterflies/s (3 per butterfly)\n", fma52 / 1e9,
                 fma52 / 3e9);
  } else {
    std::fprintf(stderr, "no IFMA in this build (no NTT roofline)\n");
  }
  std::map<std::string, Roofline> roof;
  auto bytes_roof = [&](double ct_reads, double pt_reads, double ct_writes) {
    return Roofline{"bytes/s", (ct_reads + ct_writes) * ct_bytes + pt_reads * static_cast<double>(L) * limb_bytes,
                    bandwidth};
  };
  roof["add"] = bytes_roof(2, 0, 1);
  roof["add_inplace"] = bytes_roof(2, 0, 1);
  roof["mul_plain"] = bytes_roof(1, 1, 1);
  roof["mul_const"] = bytes_roof(1, 0, 1);
  if (fma52 > 0)
    for (const char* op : {"ntt_fwd_1limb", "ntt_inv_1limb", "ntt_fwd_1limb_ifma", "ntt_inv_1limb_ifma"})
      roof[op] = Roofline{"butterflies/s", butterflies, fma52 / 3.0};

  std::map<std::string, Stats> results;
  std::vector<std::string> order;
  auto record = [&](const std::string& name, Stats s) {
    results[name] = s;
    order.push_back(name);
    if (!opt.json) {
      std::fprintf(stderr, "  %-28s %10.3f ms  (min %.3f, max %.3f)", name.c_str(), s.median_ms, s.min_ms, s.max_ms);
      if (auto it = roof.find(name); it != roof.end()) {
        const double rate = it->second.per_op / (s.median_ms * 1e-3);
        std::fprintf(stderr, "  %.3g %s = %.0f%% of peak", rate, it->second.metric.c_str(), 100.0 * rate / it->second.peak);
      }
      std::fprintf(stderr, "\n");
    }
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
  // The same on the second prime (40 bits): the IFMA kernels where the build has them.
  const math::NttTables& tables1 = ctx->ntt(1);
  auto fill1 = [&] {
    for (auto& v : limb) v = rng() % params.q()[1];
  };
  if (want("ntt_fwd_1limb_ifma"))
    record("ntt_fwd_1limb_ifma", time_op(ntt_reps, fill1, [&] { math::ntt_forward(limb.data(), tables1); }));
  if (want("ntt_inv_1limb_ifma"))
    record("ntt_inv_1limb_ifma", time_op(ntt_reps, fill1, [&] { math::ntt_inverse(limb.data(), tables1); }));

  if (opt.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& name : order) {
      const Stats& s = results[name];
      out[name] = {{"median_ms", s.median_ms}, {"min_ms", s.min_ms}, {"max_ms", s.max_ms}};
      if (auto it = roof.find(name); it != roof.end()) {
        const double rate = it->second.per_op / (s.median_ms * 1e-3);
        out[name]["roofline"] = {{"metric", it->second.metric},
                                 {"achieved", rate},
                                 {"peak", it->second.peak},
                                 {"fraction", rate / it->second.peak}};
      }
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
  cmd->add_option("--threads", opt->threads,
                  "Threads (0 = all cores; default 1, so that the figures are single-thread)")
      ->check(kNonNegative)
      ->capture_default_str();
  cmd->add_option("--reps", opt->reps, "Timed repetitions per operation (default 11, P3: 5)")
      ->check(kPositive);
  std::string names;
  for (const auto& n : operation_names()) names += (names.empty() ? "" : ",") + n;
  cmd->add_option("--only", opt->only, "Comma-separated operations to run (default: all): " + names);
  cmd->add_flag("--json", opt->json, "Print {op: {median_ms, min_ms, max_ms}} as JSON on stdout");
  cmd->callback([opt] { run_bench(*opt); });
}

Registrar reg("bench_ckks", &setup_bench_ckks);

}  // namespace
}  // namespace cryptounet::cli
