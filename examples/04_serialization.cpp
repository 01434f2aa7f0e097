// Serialisation. Every file starts with a header (magic, format version, object kind, parameter
// fingerprint, payload length), then the payload: each coefficient in ceil(bits(q)/8) bytes rather
// than a 64-bit word and, where the object came fresh from the client's secret key, its uniform half
// as the 32-byte seed it was expanded from instead of N coefficients per limb: about half the bytes.
// Readers trust nothing: a truncated file, or a file made for other parameters, is refused.
// INSECURE small parameters (N = 2^12) so that it runs in a second.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/precision.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"

using namespace cryptounet::ckks;

int main() {
  const auto ctx = Context::create(presets::insecure_test(/*log_n=*/12, /*levels=*/2));
  const std::size_t n = ctx->n();
  const KeyGenerator keygen(ctx);
  const SecretKey sk = keygen.secret_key();
  const PublicKey pk = keygen.public_key(sk);
  const EvaluationKeys evk{keygen.relin_key(sk), keygen.galois_keys(sk, std::vector{1, 2, 4})};
  const Encoder encoder(ctx);
  const Encryptor client(ctx, sk);  // the client encrypts with its secret key: seeded ciphertexts
  const Encryptor anyone(ctx, pk);  // public-key encryption has no seed to store
  const Decryptor decryptor(ctx, sk);
  const Evaluator eval(ctx, &evk);

  std::vector<double> x(encoder.slots());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.01 * static_cast<double>(i));
  const Plaintext pt = encoder.encode(x, ctx->max_level(), ctx->params().default_scale());
  const Ciphertext fresh = client.encrypt(pt);

  bool ok = true;
  const SaveOptions full{.seeded = false};
  std::printf("File sizes (N = %zu, %d Q primes + %zu P primes, INSECURE). In memory a ciphertext at level %d is\n"
              "2 parts x %d limbs x N words = %zu B; on file:\n",
              n, ctx->max_level() + 1, ctx->p_count(), fresh.level(), fresh.level() + 1,
              2 * static_cast<std::size_t>(fresh.level() + 1) * n * 8);
  // Prints the sizes with and without seeds. An object with a seed must save >= 45%; one without
  // (computed on, or public-key encrypted) must come out the same either way.
  auto sizes = [&](const char* what, std::size_t seeded, std::size_t all, bool has_seed) {
    const double saving = 1.0 - static_cast<double>(seeded) / static_cast<double>(all);
    std::printf("  %-28s seeded %8zu B, full %8zu B: %s %.0f%%\n", what, seeded, all,
                has_seed ? "seed saves (need >= 45%)" : "no seed, saves", 100 * saving);
    ok = ok && (has_seed ? saving >= 0.45 : seeded == all);
  };
  std::printf("  %-28s %zu B\n", "parameters", save(ctx->params()).size());
  sizes("public key", save(pk, *ctx).size(), save(pk, *ctx, full).size(), true);
  sizes("relin + 3 Galois keys", save(evk, *ctx).size(), save(evk, *ctx, full).size(), true);
  sizes("fresh secret-key ciphertext", save(fresh, *ctx).size(), save(fresh, *ctx, full).size(), true);
  const Ciphertext public_ct = anyone.encrypt(pt);
  sizes("public-key ciphertext", save(public_ct, *ctx).size(), save(public_ct, *ctx, full).size(), false);
  const Ciphertext rotated = eval.rotate(fresh, 1);  // computed on: no seed any more
  sizes("ciphertext after rotate", save(rotated, *ctx).size(), save(rotated, *ctx, full).size(), false);
  // The sizes are known in advance (a server sizes its upload limits from these).
  ok = ok && save(fresh, *ctx).size() == ciphertext_file_size(*ctx, fresh.level(), 2, /*seeded=*/true) &&
       save(evk, *ctx).size() == evaluation_keys_file_size(*ctx, true, evk.galois.keys.size(), /*seeded=*/true);

  // Round trip through a file: the server loads the keys and the ciphertext, rotates, saves the result.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cryptounet_example_04." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string ct_file = (dir / "x.ct").string(), keys_file = (dir / "x.evk").string();
  save_file(ct_file, save(fresh, *ctx));
  save_file(keys_file, save(evk, *ctx));
  const EvaluationKeys server_keys = load_evaluation_keys_file(keys_file, *ctx);
  const Evaluator server(ctx, &server_keys);
  const Ciphertext result = server.rotate(load_ciphertext_file(ct_file, *ctx), 2);
  std::vector<double> want(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) want[i] = x[(i + 2) % x.size()];
  const double bits = precision_stats(want, encoder.decode_real(decryptor.decrypt(result))).min_bits;
  std::printf("\nSaved, loaded, rotated by 2 with the loaded keys: %.1f bits (min; need >= 20)\n", bits);
  ok = ok && bits >= 20;

  std::printf("\nReaders refuse bad input with a message:\n");
  // Runs op, which must throw the error kind named `kind`; prints the message.
  auto expect_error = [&](const char* what, const std::string& kind, const std::function<void()>& op) {
    std::string got = "no error (a bug)", message;
    try {
      op();
    } catch (const cryptounet::FormatError& e) {
      got = "FormatError", message = e.what();
    } catch (const cryptounet::SecurityError& e) {
      got = "SecurityError", message = e.what();
    } catch (const cryptounet::Error& e) {
      got = "another error", message = e.what();
    }
    std::printf("  %s: %s: %s\n", what, got.c_str(), message.c_str());
    ok = ok && got == kind;
  };
  std::filesystem::resize_file(ct_file, std::filesystem::file_size(ct_file) - 100);
  expect_error("ciphertext file cut 100 bytes short", "FormatError",
               [&] { (void)load_ciphertext_file(ct_file, *ctx); });
  const auto other = Context::create(presets::insecure_test(/*log_n=*/12, /*levels=*/3));
  expect_error("ciphertext loaded with other parameters", "SecurityError",
               [&] { (void)load_ciphertext(save(fresh, *ctx), *other); });
  std::filesystem::remove_all(dir);

  std::printf("\n%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
