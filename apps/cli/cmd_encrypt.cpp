// `cryptounet encrypt` (client): packs an image (a throughput plan: plan.batch images) as the
// plan's input layout says and encrypts it with the secret key (seeded: about half the size).
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace cryptounet::cli {
namespace {

struct EncryptArgs {
  std::string plan, keys, out;
  std::vector<std::string> images;
  bool resize = false;
  InsecureParams insecure;
  int threads = 0;
  bool json = false;
  int slice = -1;
};

void setup_encrypt(CLI::App& root) {
  auto a = std::make_shared<EncryptArgs>();
  CLI::App* cmd = root.add_subcommand("encrypt", "Client: encrypt an image for a plan with the secret key");
  cmd->add_option("--plan", a->plan, "Plan file")->required();
  cmd->add_option("--keys", a->keys, "Key folder from `cryptounet keygen`")->required();
  cmd->add_option("images", a->images,
                  std::string("Input images (as many as the plan's batch): ") + kImageFormats)
      ->required();
  add_slice_option(cmd, a->slice);
  cmd->add_option("-o,--out", a->out, "Encrypted input to write (in.ct)")->required();
  cmd->add_flag("--resize", a->resize, "Resample an image of another size to the model's input");
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(kNonNegative);
  add_insecure_params_option(cmd, a->insecure, InsecureUse::takes_plan);
  add_json_flag(cmd, a->json);
  cmd->callback([a] {
    JsonOutput out(a->json);
    const nn::PlanFile pf = read_client_plan(a->plan, a->insecure);
    const std::uint64_t plan_fp = nn::plan_fingerprint(pf);
    const nn::KeyInfo info = nn::read_key_info(a->keys);
    if (info.plan != plan_fp)
      throw InvalidArgument("the keys in '" + a->keys + "' were made for another plan (" + hex64(info.plan) +
                            ", '" + a->plan + "' is " + hex64(plan_fp) +
                            "); run `cryptounet keygen --plan " + a->plan + "` first");
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = a->threads});
    if (static_cast<int>(a->images.size()) != pf.plan.batch)
      throw InvalidArgument("the plan takes " + std::to_string(pf.plan.batch) + " image(s) per run, " +
                            std::to_string(a->images.size()) + " given");
    std::vector<nn::Tensor> inputs;
    for (const std::string& file : a->images)
      inputs.push_back(nn::plan_input_tensor(pf.plan, pf.model_name, data::read_any_image(file, a->slice, nn::plan_plane_limit(pf.plan, pf.model_name, a->resize)),
                                             a->resize,
                                             "image '" + file + "'"));
    const auto t0 = std::chrono::steady_clock::now();
    const ckks::SecretKey sk =
        ckks::load_secret_key_file((std::filesystem::path(a->keys) / nn::kSecretKeyFile).string(), *ctx);
    nn::EncryptedTensor t;
    t.plan = plan_fp;
    t.key_id = info.key_id;
    t.role = nn::TensorRole::input;
    t.cts = nn::encrypt_inputs(ctx, sk, pf.plan, inputs);
    const auto bytes = nn::encode_encrypted_tensor(t, *ctx);
    write_file_atomic(a->out, bytes);
    const double secs = seconds_since(t0);
    std::printf("%s%s -> %s: %zu ciphertext(s) at level %d, %s seeded, %.2f s\n", a->images[0].c_str(),
                a->images.size() > 1 ? " ..." : "", a->out.c_str(), t.cts.size(), pf.plan.input_level,
                human_bytes(static_cast<double>(bytes.size())).c_str(), secs);
    auto& j = out.json();
    j["images"] = a->images;
    j["out"] = a->out;
    j["ciphertexts"] = t.cts.size();
    j["level"] = pf.plan.input_level;
    j["bytes"] = bytes.size();
    j["plan"] = hex64(plan_fp);
    j["key_id"] = hex64(info.key_id);
    j["seconds"] = secs;
    out.emit();
  });
}

Registrar reg("encrypt", &setup_encrypt);

}  // namespace
}  // namespace cryptounet::cli
