// Keys, encode, encrypt, multiply, rotate, decrypt, bits of precision: the CKKS engine in one page.
#include <cmath>
#include <cstdio>
#include <vector>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/precision.h"

using namespace cryptounet::ckks;

int main() {
  // N = 2^12 (2048 slots), Q = 60 + 2 x 40 bits (2 levels), scale 2^40: INSECURE, and named so.
  const auto ctx = Context::create(presets::insecure_test(/*log_n=*/12, /*levels=*/2));
  const KeyGenerator keygen(ctx);
  const SecretKey sk = keygen.secret_key();  // the client's; wiped when destroyed
  // The server's keys: relinearisation, and the Galois key for "rotate left by 1 slot".
  const EvaluationKeys keys{keygen.relin_key(sk), keygen.galois_keys(sk, std::vector{1})};
  const Encoder encoder(ctx);
  const Encryptor encryptor(ctx, keygen.public_key(sk));
  const Decryptor decryptor(ctx, sk);
  const Evaluator eval(ctx, &keys);

  std::vector<double> x(encoder.slots()), want(x.size());  // inputs in [-1, 1]
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.01 * static_cast<double>(i));
  const Ciphertext ct = encryptor.encrypt(encoder.encode(x, ctx->max_level(), ctx->params().default_scale()));

  // x * x has 3 parts and scale 2^80: relinearise (3 -> 2 parts), rescale (level 2 -> 1, scale ~2^40).
  Ciphertext y = eval.rescale(eval.relinearize(eval.mul(ct, ct)));
  eval.rotate_inplace(y, 1);  // slot i now holds x[i+1]^2
  const std::vector<double> got = encoder.decode_real(decryptor.decrypt(y));
  for (std::size_t i = 0; i < x.size(); ++i) want[i] = std::pow(x[(i + 1) % x.size()], 2);
  const PrecisionStats p = precision_stats(want, got);
  std::printf("level %d, scale 2^%.4f; slot 0: %.9f, want %.9f\n", y.level(), std::log2(y.scale()), got[0], want[0]);
  std::printf("precision: min %.1f bits, mean %.1f bits (need >= 20)\n", p.min_bits, p.mean_bits);
  return p.min_bits >= 20 ? 0 : 1;
}
