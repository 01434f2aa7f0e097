// Writes seed plan files for fuzz_plan: the bundled models planned in both packing modes.
// Usage: make_plan_corpus OUT_DIR (files go to OUT_DIR/plan/).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "cryptounet/nn/model_card.h"
#include "cryptounet/nn/plan_io.h"
#include "cryptounet/nn/planner.h"

namespace fs = std::filesystem;
using namespace cryptounet;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_plan_corpus OUT_DIR\n";
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
  std::cout << "plan corpus written to " << out << "\n";
  return 0;
}
