// CKKS operation benchmarks on the named parameter sets P1 (N=2^14), P2 (2^15), P3 (2^16), at the
// top level with scale 2^40 and random values in [-1, 1] in every slot: the rows of
// ../shared/anchors/he-baselines.md. Threads: CU_BENCH_THREADS (default 1). Select sets with
// --benchmark_filter, e.g. 'logN=14'.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/math/ntt.h"

namespace cryptounet::ckks {
namespace {

struct Env {
  std::shared_ptr<const Context> ctx;
  std::unique_ptr<SecretKey> sk;
  PublicKey pk;
  EvaluationKeys evk;
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<Encryptor> encryptor;
  std::unique_ptr<Decryptor> decryptor;
  std::unique_ptr<Evaluator> eval;
  std::vector<double> values;
  Plaintext pt;
  Ciphertext a, b;
  Ciphertext prod3;  // a*b before relinearisation
  Ciphertext prod;   // a*b relinearised (scale 2^80), input of rescale
};

Env& env(int set) {
  static std::map<int, std::unique_ptr<Env>> cache;
  auto& e = cache[set];
  if (!e) {
    e = std::make_unique<Env>();
    const char* t = std::getenv("CU_BENCH_THREADS");
    const ExecOptions exec{t ? std::atoi(t) : 1};
    const Params p = set == 1 ? presets::P1() : set == 2 ? presets::P2() : presets::P3();
    e->ctx = Context::create(p, exec);
    KeyGenerator kg(e->ctx);
    e->sk = std::make_unique<SecretKey>(kg.secret_key());
    e->pk = kg.public_key(*e->sk);
    e->evk.relin = kg.relin_key(*e->sk);
    const std::vector<int> steps = {1, 2, 3, 4, 5, 6, 7, 8};
    e->evk.galois = kg.galois_keys(*e->sk, steps);
    e->encoder = std::make_unique<Encoder>(e->ctx);
    e->encryptor = std::make_unique<Encryptor>(e->ctx, e->pk);
    e->decryptor = std::make_unique<Decryptor>(e->ctx, *e->sk);
    e->eval = std::make_unique<Evaluator>(e->ctx, &e->evk);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1, 1);
    e->values.resize(p.slots());
    for (auto& v : e->values) v = u(rng);
    e->pt = e->encoder->encode(e->values, p.max_level(), p.default_scale());
    e->a = e->encryptor->encrypt(e->pt);
    e->b = e->encryptor->encrypt(e->pt);
    e->prod3 = e->eval->mul(e->a, e->b);
    e->prod = e->eval->relinearize(e->prod3);
  }
  return *e;
}

void encode(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.encoder->encode(e.values, e.ctx->max_level(), e.ctx->params().default_scale()));
}
void encrypt(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.encryptor->encrypt(e.pt));
}
void add(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->add(e.a, e.b));
}
void add_inplace(benchmark::State& s, int set) {
  auto& e = env(set);
  Ciphertext c = e.a;
  for (auto _ : s) e.eval->add_inplace(c, e.b);
}
void mul_plain(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->mul_plain(e.a, e.pt));
}
void mul_norelin(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->mul(e.a, e.b));
}
void relinearize(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->relinearize(e.prod3));
}
void mul_relin(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->mul_relin(e.a, e.b));
}
void rescale(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->rescale(e.prod));
}
void rotate(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->rotate(e.a, 1));
}
void rotate8(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s)
    for (int k = 1; k <= 8; ++k) benchmark::DoNotOptimize(e.eval->rotate(e.a, k));
}
void rotate8_hoisted(benchmark::State& s, int set) {
  auto& e = env(set);
  const std::vector<int> steps = {1, 2, 3, 4, 5, 6, 7, 8};
  for (auto _ : s) benchmark::DoNotOptimize(e.eval->rotate_hoisted(e.a, steps));
}
void decrypt_decode(benchmark::State& s, int set) {
  auto& e = env(set);
  for (auto _ : s) benchmark::DoNotOptimize(e.encoder->decode(e.decryptor->decrypt(e.a)));
}
void ntt_fwd(benchmark::State& s, int set) {
  auto& e = env(set);
  std::vector<std::uint64_t> x(e.a.part(0).limb(0), e.a.part(0).limb(0) + e.ctx->n());
  for (auto _ : s) {
    math::ntt_forward(x.data(), e.ctx->ntt(0));
    benchmark::DoNotOptimize(x.data());
  }
}
void ntt_inv(benchmark::State& s, int set) {
  auto& e = env(set);
  std::vector<std::uint64_t> x(e.a.part(0).limb(0), e.a.part(0).limb(0) + e.ctx->n());
  for (auto _ : s) {
    math::ntt_inverse(x.data(), e.ctx->ntt(0));
    benchmark::DoNotOptimize(x.data());
  }
}

// Runs the op and reports NTTs per iteration as a counter.
template <void (*F)(benchmark::State&, int)>
void counted(benchmark::State& s, int set) {
  (void)env(set);  // key generation outside the count
  const std::uint64_t before = math::ntt_count();
  F(s, set);
  s.counters["ntt"] = benchmark::Counter(static_cast<double>(math::ntt_count() - before), benchmark::Counter::kAvgIterations);
}

int register_all() {
  using Fn = void (*)(benchmark::State&, int);
  const std::vector<std::pair<std::string, Fn>> ops = {
      {"encode", counted<encode>},
      {"encrypt_pk", counted<encrypt>},
      {"add", counted<add>},
      {"add_inplace", counted<add_inplace>},
      {"mul_plain", counted<mul_plain>},
      {"mul_norelin", counted<mul_norelin>},
      {"relinearize", counted<relinearize>},
      {"mul_relin", counted<mul_relin>},
      {"rescale", counted<rescale>},
      {"rotate", counted<rotate>},
      {"rotate8", counted<rotate8>},
      {"rotate8_hoisted", counted<rotate8_hoisted>},
      {"decrypt_decode", counted<decrypt_decode>},
      {"ntt_fwd_1limb", counted<ntt_fwd>},
      {"ntt_inv_1limb", counted<ntt_inv>}};
  for (int set : {1, 2, 3}) {
    for (const auto& [name, fn] : ops) {
      const std::string full = "ckks/" + name + "/logN=" + std::to_string(13 + set);
      benchmark::RegisterBenchmark(full.c_str(), fn, set)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  }
  return 0;
}
const int registered = register_all();

}  // namespace
}  // namespace cryptounet::ckks
