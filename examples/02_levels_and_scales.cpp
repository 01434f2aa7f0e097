// Levels and scales. A ciphertext at level l lives modulo Q_l = q_0 * ... * q_l and carries a scale:
// its slots hold value * scale. A product multiplies the scales, so after each one we *rescale*:
// divide by the last prime q_l, dropping one level. When the chain is spent (level 0) no product
// is left. drop_level discards primes without dividing: same scale, fewer limbs. Adding needs
// equal levels and scales; the evaluator refuses anything else with a clear error.
// INSECURE small parameters (N = 2^12) so that it runs in a second.
#include <cmath>
#include <cstdint>
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

using namespace cryptounet::ckks;

int main() {
  // Q = 60 + 3 x 40 bits: levels 3, 2, 1, 0. Scale primes sit alternately just below and just above
  // 2^40, so the scale wanders little from 2^40 as we rescale.
  const auto ctx = Context::create(presets::insecure_test(/*log_n=*/12, /*levels=*/3));
  const Params& params = ctx->params();
  std::printf("The level chain (N = %zu, scale 2^%d, INSECURE):\n", params.n(), params.log_scale());
  double log_q = 0;
  for (int l = 0; l <= params.max_level(); ++l) {
    const std::uint64_t q = params.q()[static_cast<std::size_t>(l)];
    const double bits = std::round(std::log2(static_cast<double>(q)));
    log_q += std::log2(static_cast<double>(q));
    std::printf("  level %d: q_%d = %llu = 2^%.0f x %.9f, log2 Q_%d = %.1f\n", l, l, static_cast<unsigned long long>(q),
                bits, static_cast<double>(q) / std::exp2(bits), l, log_q);
  }
  std::printf("  + %zu special primes for key switching; log2 QP = %.1f\n", params.p().size(), params.log_qp());

  const KeyGenerator keygen(ctx);
  const SecretKey sk = keygen.secret_key();
  const EvaluationKeys keys{.relin = keygen.relin_key(sk), .galois = {}};
  const Encoder encoder(ctx);
  const Encryptor encryptor(ctx, keygen.public_key(sk));
  const Decryptor decryptor(ctx, sk);
  const Evaluator eval(ctx, &keys);

  std::vector<double> x(encoder.slots());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.003 * static_cast<double>(i));  // in [-1, 1]
  const double delta = params.default_scale();
  const Ciphertext cx = encryptor.encrypt(encoder.encode(x, params.max_level(), delta));

  bool ok = true;
  // Prints a ciphertext's level, scale and precision against `want`; fails if below `min_bits`.
  auto show = [&](const char* what, const Ciphertext& ct, const std::function<double(double)>& f, double min_bits) {
    std::vector<double> want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) want[i] = f(x[i]);
    const PrecisionStats p = precision_stats(want, encoder.decode_real(decryptor.decrypt(ct)));
    std::printf("  %-22s level %d, limbs %d, scale 2^40 x %.9f, precision %.1f bits (min; need >= %.0f)\n", what,
                ct.level(), ct.level() + 1, ct.scale() / 0x1p40, p.min_bits, min_bits);
    ok = ok && p.min_bits >= min_bits;
  };

  std::printf("\nPowers of x: each product doubles the scale's exponent, each rescale divides by q_l:\n");
  show("x", cx, [](double v) { return v; }, 22);
  Ciphertext power = cx;
  for (int k = 2; k <= 4; ++k) {
    // The fresh x is at level 3; drop it to the power's level first (no noise, scale kept).
    const Ciphertext x_here = eval.drop_level(cx, power.level());
    const Ciphertext product = eval.mul_relin(power, x_here);
    const double q_l = static_cast<double>(params.q()[static_cast<std::size_t>(product.level())]);
    power = eval.rescale(product);
    // The scale is exactly (old scale * 2^40) / q_l: it is bookkeeping, not an estimate.
    ok = ok && power.scale() == product.scale() / q_l && power.level() == product.level() - 1;
    std::printf("  x^%d before rescale:    level %d, limbs %d, scale 2^80 x %.9f\n", k, product.level(),
                product.level() + 1, product.scale() / 0x1p80);
    const std::string name = "x^" + std::to_string(k) + " after rescale:";
    show(name.c_str(), power, [k](double v) { return std::pow(v, k); }, 20);
  }
  show("x dropped to level 0:", eval.drop_level(cx, 0), [](double v) { return v; }, 22);

  // Each mistake below is refused with an InvalidArgument that names the operation and the values.
  auto expect_error = [&](const char* what, const std::function<void()>& op) {
    try {
      op();
      std::printf("  %s: NO ERROR (a bug)\n", what);
      ok = false;
    } catch (const cryptounet::InvalidArgument& e) {
      std::printf("  %s: refused: %s\n", what, e.what());
    }
  };
  std::printf("\nMismatches are errors, never wrong numbers:\n");
  const Ciphertext x2 = eval.rescale(eval.mul_relin(cx, cx));  // level 2, scale 2^80 / q_3
  expect_error("x^2 + x        (levels 2 and 3)", [&] { (void)eval.add(x2, cx); });
  std::printf("  (x^2 has scale 2^40 x %.9f, x has 2^40 x 1: equal within 1e-9 is required)\n", x2.scale() / 0x1p40);
  expect_error("x^2 + drop(x)  (scales differ) ", [&] { (void)eval.add(x2, eval.drop_level(cx, 2)); });
  expect_error("rescale(x^4)   (at level 0)    ", [&] { (void)eval.rescale(power); });
  expect_error("drop_level(x^2, 3) (upwards)   ", [&] { (void)eval.drop_level(x2, 3); });

  // The fix for the scale mismatch: multiply x by the constant 1 at scale 2^40 and rescale. x then
  // takes exactly the path x^2 took (scale 2^80 / q_3, level 2), so the two add.
  std::printf("\nThe fix: x * 1 (constant at scale 2^40), rescaled, matches x^2's level and scale:\n");
  const Ciphertext x_matched = eval.rescale(eval.mul_const(cx, 1.0, delta));
  show("x * 1, rescaled:", x_matched, [](double v) { return v; }, 20);
  show("x^2 + x:", eval.add(x2, x_matched), [](double v) { return v * v + v; }, 20);

  std::printf("\n%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
