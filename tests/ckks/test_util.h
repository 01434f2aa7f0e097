// Shared fixture for the CKKS tests (after Lattigo's TestContext): one context with keys,
// encoder, encryptors, decryptor and evaluator per named parameter set, built once and cached.
#pragma once

#include <complex>
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
#include "cryptounet/ckks/precision.h"

namespace cryptounet::ckks::test {

struct TestContext {
  std::string name;
  std::shared_ptr<const Context> ctx;
  std::unique_ptr<KeyGenerator> keygen;
  std::unique_ptr<SecretKey> sk;
  PublicKey pk;
  EvaluationKeys evk;
  std::vector<int> steps;  // rotation steps with keys
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<Encryptor> enc_pk;
  std::unique_ptr<Encryptor> enc_sk;
  std::unique_ptr<Decryptor> dec;
  std::unique_ptr<Evaluator> eval;

  [[nodiscard]] std::size_t slots() const { return ctx->params().slots(); }
  [[nodiscard]] double scale() const { return ctx->params().default_scale(); }
  [[nodiscard]] int max_level() const { return ctx->max_level(); }
  [[nodiscard]] Ciphertext encrypt(const std::vector<std::complex<double>>& v, int level = -1) const {
    return enc_pk->encrypt(encoder->encode(v, level < 0 ? max_level() : level, scale()));
  }
  [[nodiscard]] std::vector<std::complex<double>> decrypt(const Ciphertext& ct) const {
    return encoder->decode(dec->decrypt(ct));
  }
};

/// Literals of the test sets, by name: "logN10", "logN11", "logN12" (insecure) and "P1" (128-bit).
inline ParamsLiteral literal_for(const std::string& name) {
  auto q = [](int levels) {
    std::vector<int> v = {60};
    v.insert(v.end(), static_cast<std::size_t>(levels), 40);
    return v;
  };
  const auto insecure = Security::insecure_for_tests;
  if (name == "logN10") return {.log_n = 10, .log_q = q(3), .log_p = {60, 60}, .dnum = 0, .security = insecure};
  if (name == "logN11") return {.log_n = 11, .log_q = q(5), .log_p = {60, 60, 60}, .dnum = 2, .security = insecure};
  if (name == "logN12") return {.log_n = 12, .log_q = q(7), .log_p = {60}, .dnum = 8, .security = insecure};
  return presets::P1().literal();
}

/// Keys for every power-of-two step (both directions), a few odd steps, and conjugation.
inline const TestContext& test_context(const std::string& name) {
  static std::map<std::string, std::unique_ptr<TestContext>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto tc = std::make_unique<TestContext>();
    tc->name = name;
    tc->ctx = Context::create(Params::from_literal(literal_for(name)), ExecOptions{2});
    tc->keygen = std::make_unique<KeyGenerator>(tc->ctx);
    tc->sk = std::make_unique<SecretKey>(tc->keygen->secret_key());
    tc->pk = tc->keygen->public_key(*tc->sk);
    tc->evk.relin = tc->keygen->relin_key(*tc->sk);
    const int slots = static_cast<int>(tc->ctx->params().slots());
    if (name == "P1") {
      tc->steps = {1, 2, 3, 5};
    } else {
      for (int s = 1; s < slots; s <<= 1) {
        tc->steps.push_back(s);
        tc->steps.push_back(-s);
      }
      for (int s : {3, 5, 7, 13, 100, slots - 3}) tc->steps.push_back(s);
    }
    tc->evk.galois = tc->keygen->galois_keys(*tc->sk, tc->steps, true);
    tc->encoder = std::make_unique<Encoder>(tc->ctx);
    tc->enc_pk = std::make_unique<Encryptor>(tc->ctx, tc->pk);
    tc->enc_sk = std::make_unique<Encryptor>(tc->ctx, *tc->sk);
    tc->dec = std::make_unique<Decryptor>(tc->ctx, *tc->sk);
    tc->eval = std::make_unique<Evaluator>(tc->ctx, &tc->evk);
    slot = std::move(tc);
  }
  return *slot;
}

/// Random complex values with real and imaginary parts uniform in [-bound, bound].
inline std::vector<std::complex<double>> random_complex(std::size_t n, unsigned seed, double bound = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-bound, bound);
  std::vector<std::complex<double>> v(n);
  for (auto& z : v) z = {u(rng), u(rng)};
  return v;
}

inline std::vector<std::complex<double>> rotate_left(const std::vector<std::complex<double>>& v, int step) {
  const long long n = static_cast<long long>(v.size());
  std::vector<std::complex<double>> r(v.size());
  for (long long i = 0; i < n; ++i) r[static_cast<std::size_t>(i)] = v[static_cast<std::size_t>(((i + step) % n + n) % n)];
  return r;
}

}  // namespace cryptounet::ckks::test
