// Writes a seed corpus for the fuzz targets: one valid file of each kind (several for
// ciphertexts) for the fuzz context, into OUT/<target>/. Usage: make_corpus OUT
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/evaluator.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "fuzz_context.h"

namespace fs = std::filesystem;
using namespace cryptounet;
using namespace cryptounet::ckks;

namespace {
void put(const fs::path& out, const std::string& target, const std::string& name, const std::vector<std::uint8_t>& b) {
  for (const std::string& t : {target, std::string("header")}) {
    fs::create_directories(out / t);
    std::ofstream(out / t / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                         static_cast<std::streamsize>(b.size()));
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus OUT_DIR\n";
    return 2;
  }
  const fs::path out = argv[1];
  const Context& c = fuzz::context();
  auto ctx = std::shared_ptr<const Context>(&c, [](const Context*) {});
  KeyGenerator kg(ctx);
  const SecretKey sk = kg.secret_key();
  const PublicKey pk = kg.public_key(sk);
  GaloisKeys one;
  one.keys.emplace(5, kg.galois_key(sk, 5));
  EvaluationKeys evk{kg.relin_key(sk), {}};
  EvaluationKeys evk_g;
  evk_g.galois.keys.emplace(2 * c.n() - 1, kg.galois_key(sk, 2 * c.n() - 1));
  Encoder enc(ctx);
  Encryptor esk(ctx, sk), epk(ctx, pk);
  std::vector<double> v(c.params().slots(), 0.5);
  const double scale = c.params().default_scale();
  const Plaintext pt0 = enc.encode(v, 0, scale), pt1 = enc.encode(v, 1, scale);
  const Ciphertext seeded = esk.encrypt(pt0), full = epk.encrypt(pt0), top = esk.encrypt(pt1);
  const Ciphertext prod = Evaluator(ctx).mul(top, top);

  put(out, "params", "params", save(c.params()));
  put(out, "secret_key", "sk", save(sk, c));
  put(out, "public_key", "pk_seeded", save(pk, c));
  put(out, "public_key", "pk_full", save(pk, c, {.seeded = false}));
  put(out, "relin_key", "rk", save(evk.relin, c));
  put(out, "galois_keys", "gk", save(one, c));
  put(out, "galois_keys", "gk_empty", save(GaloisKeys{}, c));
  put(out, "evaluation_keys", "evk_relin", save(evk, c));
  put(out, "evaluation_keys", "evk_galois", save(evk_g, c));
  put(out, "plaintext", "pt0", save(pt0, c));
  put(out, "ciphertext", "ct_seeded", save(seeded, c));
  put(out, "ciphertext", "ct_full", save(full, c));
  put(out, "ciphertext", "ct_size3", save(prod, c));
  put(out, "decrypt", "ct_seeded", save(seeded, c));
  put(out, "decrypt", "ct_full", save(full, c));
  put(out, "decrypt", "ct_size3", save(prod, c));
  put(out, "ciphertext_set", "set", save_ciphertext_set(std::vector<Ciphertext>{seeded, full}, c));
  put(out, "ciphertext_set", "set_empty", save_ciphertext_set({}, c));
  std::cout << "seed corpus written to " << out << "\n";
  return 0;
}
