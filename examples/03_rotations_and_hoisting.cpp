// Rotations. A rotation by `step` slots is the Galois automorphism X -> X^g with g = 5^step mod 2N
// (g = 2N - 1 conjugates every slot). Each needs its own Galois key, made by the client, and costs
// one key switch. Keys are stored by Galois element, so steps that are equal modulo the slot count
// share a key. Hoisting: rotating one ciphertext by many steps can share the expensive first half of
// the key switch (the decomposition, ModUp), so 8 hoisted rotations cost less than 8 separate ones.
// INSECURE small parameters (N = 2^13) so that it runs in a second.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/precision.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/automorphism.h"

using namespace cryptounet::ckks;
using Complex = std::complex<double>;

int main() {
  // N = 2^13 (4096 slots), Q = 60 + 4 x 40 bits, P = 2 x 60 bits. INSECURE, and named so.
  const auto ctx = Context::create(presets::insecure_test(/*log_n=*/13, /*levels=*/4));
  const std::size_t n = ctx->n(), slots = ctx->params().slots();
  const int s = static_cast<int>(slots);

  std::printf("Rotation steps and their Galois elements 5^step mod 2N (N = %zu, %zu slots):\n", n, slots);
  const std::vector<int> steps = {1, 2, 4, 8, 16, 32, 64, 128, -1, s - 1};
  for (int step : steps)
    std::printf("  step %5d -> g = %llu\n", step,
                static_cast<unsigned long long>(cryptounet::math::galois_element_for_step(n, step)));
  std::printf("  conjugation -> g = 2N - 1 = %zu\n", 2 * n - 1);

  const KeyGenerator keygen(ctx);
  const SecretKey sk = keygen.secret_key();
  const EvaluationKeys keys{.relin = {}, .galois = keygen.galois_keys(sk, steps, /*conjugate=*/true)};
  std::size_t key_bytes = 0;
  for (const auto& [g, key] : keys.galois.keys)
    for (std::size_t j = 0; j < key.b.size(); ++j) key_bytes += 8 * n * (key.b[j].limbs() + key.a[j].limbs());
  std::printf("%zu steps + conjugation asked, %zu Galois keys made (steps -1 and %d are one key), %.1f MB in memory\n",
              steps.size(), keys.galois.keys.size(), s - 1, static_cast<double>(key_bytes) / 1e6);

  const Encoder encoder(ctx);
  const Encryptor encryptor(ctx, keygen.public_key(sk));
  const Decryptor decryptor(ctx, sk);
  const Evaluator eval(ctx, &keys);
  std::vector<Complex> z(slots);
  for (std::size_t i = 0; i < slots; ++i) z[i] = {std::cos(0.01 * static_cast<double>(i)), std::sin(0.02 * static_cast<double>(i))};
  const Ciphertext ct = encryptor.encrypt(encoder.encode(z, ctx->max_level(), ctx->params().default_scale()));

  bool ok = true;
  // Bits of precision of a decrypted ciphertext against slot i -> want(i); fails below 20 bits.
  auto check = [&](const char* what, const Ciphertext& c, const std::function<Complex(std::size_t)>& want) {
    std::vector<Complex> expected(slots);
    for (std::size_t i = 0; i < slots; ++i) expected[i] = want(i);
    const double bits = precision_stats(expected, encoder.decode(decryptor.decrypt(c))).min_bits;
    std::printf("  %-36s %.1f bits (min; need >= 20)\n", what, bits);
    ok = ok && bits >= 20;
  };
  auto rotated = [&](int step) {
    return [&, step](std::size_t i) { return z[(i + static_cast<std::size_t>(step % s + s)) % slots]; };
  };

  std::printf("\nEach rotation is one key switch; compose them for steps without a key:\n");
  check("rotate(ct, 1)", eval.rotate(ct, 1), rotated(1));
  check("rotate(ct, -1) (right by one)", eval.rotate(ct, -1), rotated(-1));
  check("apply_galois(ct, 5^2 mod 2N)", eval.apply_galois(ct, cryptounet::math::galois_element_for_step(n, 2)),
        rotated(2));
  check("conjugate(ct)", eval.conjugate(ct), [&](std::size_t i) { return std::conj(z[i]); });
  check("rotate(rotate(ct, 1), 2) = step 3", eval.rotate(eval.rotate(ct, 1), 2), rotated(3));
  try {
    (void)eval.rotate(ct, 3);
    std::printf("  rotate(ct, 3) without its key: NO ERROR (a bug)\n");
    ok = false;
  } catch (const cryptounet::InvalidArgument& e) {
    std::printf("  rotate(ct, 3) without its key is refused: %s\n", e.what());
  }

  std::printf("\nHoisted rotations equal one-by-one rotations (key switching adds no fresh randomness):\n");
  const std::vector<int> eight(steps.begin(), steps.begin() + 8);
  const std::vector<Ciphertext> hoisted = eval.rotate_hoisted(ct, eight);
  for (std::size_t k = 0; k < eight.size(); ++k) {
    const Ciphertext one = eval.rotate(ct, eight[k]);
    bool same = one.level() == hoisted[k].level() && one.size() == hoisted[k].size();
    for (std::size_t p = 0; same && p < one.size(); ++p)
      same = std::equal(one.part(p).data(), one.part(p).data() + n * one.part(p).limbs(), hoisted[k].part(p).data());
    const std::vector<Complex> h = encoder.decode(decryptor.decrypt(hoisted[k]));
    const std::vector<Complex> o = encoder.decode(decryptor.decrypt(one));
    std::vector<Complex> want(slots);
    for (std::size_t i = 0; i < slots; ++i) want[i] = rotated(eight[k])(i);
    const double vs_plain = precision_stats(want, h).min_bits, vs_one = precision_stats(o, h).min_bits;
    std::printf("  step %4d: hoisted vs plain %.1f bits (need >= 20), vs rotate() %.1f bits (need >= 40),"
                " same ciphertext bits: %s\n", eight[k], vs_plain, vs_one, same ? "yes" : "no");
    ok = ok && vs_plain >= 20 && vs_one >= 40;
  }

  // Timing is information only (it depends on the machine and its load); nothing is checked on it.
  auto median_ms = [](const std::function<void()>& f) {
    std::vector<double> ms;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      f();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  };
  const double one_by_one = median_ms([&] {
    for (int step : eight) (void)eval.rotate(ct, step);
  });
  const double at_once = median_ms([&] { (void)eval.rotate_hoisted(ct, eight); });
  std::printf("\nTime for 8 rotations at level %d, median of 3 (information only): one by one %.2f ms, hoisted %.2f ms"
              " (%.2fx)\n", ct.level(), one_by_one, at_once, one_by_one / at_once);

  std::printf("\n%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
