// Writes seeds for the nn-layer readers: plan files (the bundled models planned in both packing
// modes) into OUT_DIR/plan/, encrypted-tensor files into OUT_DIR/encrypted_tensor/ and one rank's
// latency-mode exchange bytes (two ciphertexts for rank 1) into OUT_DIR/exchange/.
// Usage: make_nn_corpus OUT_DIR
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/split_infer_wire.h"
#include "fuzz_context.h"

namespace fs = std::filesystem;
using namespace cryptounet;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_nn_corpus OUT_DIR\n";
    return 2;
  }
  const fs::path out = fs::path(argv[1]) / "plan";
  fs::create_directories(out);
  for (const std::string model : {"brain64", "nuclei64"}) {
    const std::string path = std::string(CU_SOURCE_DIR) + "/models/" + model + ".onnx";
    const nn::Graph g = nn::load_model(path);
    for (auto mode : {packing::PackingMode::latency, packing::PackingMode::throughput}) {
      nn::PlanOptions o;
      o.mode = mode;
      nn::PlanFile f;
      f.plan = nn::make_plan(g, o);
      f.model_name = g.name;
      f.model_fingerprint = nn::model_file_fingerprint(path);
      const auto bytes = nn::encode_plan_file(f);
      const std::string name = model + (mode == packing::PackingMode::latency ? "_latency" : "_throughput");
      std::ofstream(out / name, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
  }
  // Encrypted tensors for the fuzz context: a seeded input of two ciphertexts and a full output.
  const fs::path et = fs::path(argv[1]) / "encrypted_tensor";
  fs::create_directories(et);
  const ckks::Context& c = fuzz::context();
  auto ctx = std::shared_ptr<const ckks::Context>(&c, [](const ckks::Context*) {});
  ckks::KeyGenerator kg(ctx);
  const ckks::SecretKey sk = kg.secret_key();
  const ckks::PublicKey pk = kg.public_key(sk);
  ckks::Encoder enc(ctx);
  const std::vector<double> v(c.params().slots(), 0.5);
  const ckks::Plaintext pt = enc.encode(v, 1, c.params().default_scale());
  nn::EncryptedTensor in{.plan = 1, .key_id = 2, .role = nn::TensorRole::input, .cts = {}};
  in.cts.push_back(ckks::Encryptor(ctx, sk).encrypt(pt));
  in.cts.push_back(ckks::Encryptor(ctx, sk).encrypt(pt));
  nn::EncryptedTensor outt{.plan = 1, .key_id = 2, .role = nn::TensorRole::output, .cts = {}};
  outt.cts.push_back(ckks::Encryptor(ctx, pk).encrypt(pt));
  for (const auto& [name, t] : {std::pair{"input", &in}, std::pair{"output", &outt}}) {
    const auto bytes = nn::encode_encrypted_tensor(*t, c);
    std::ofstream(et / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  // What rank 0 sends rank 1 in latency mode: a fresh and a seeded ciphertext.
  const fs::path ex = fs::path(argv[1]) / "exchange";
  fs::create_directories(ex);
  std::vector<nn::CtParcel> parcels;
  parcels.push_back({.peer = 1, .index = 0, .step = 0, .order = 0, .ct = in.cts[0]});
  parcels.push_back({.peer = 1, .index = 3, .step = 2, .order = 1, .ct = outt.cts[0]});
  distributed::ExchangeBuffer buf;
  std::vector<std::uint64_t> counts;
  nn::pack_parcels(parcels, 0, 2, c, buf, counts);
  std::ofstream(ex / "two_parcels", std::ios::binary)
      .write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(counts[1]));
  std::cout << "plan, encrypted-tensor and exchange corpus written to " << argv[1] << "\n";
  return 0;
}
