// `cryptounet keygen` (client): a fresh secret key and the evaluation keys for exactly the
// rotations a plan asks for. KEYDIR/secret.key (0600) never leaves the client; KEYDIR/eval.keys
// is what the server receives.
#include "cli/command.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace cryptounet::cli {
namespace {

struct KeygenArgs {
  std::string plan, out;
  int threads = 0;
};

void setup_keygen(CLI::App& root) {
  auto a = std::make_shared<KeygenArgs>();
  CLI::App* cmd = root.add_subcommand(
      "keygen", "Client: make a secret key and the evaluation keys a plan needs");
  cmd->add_option("--plan", a->plan, "Plan file from `cryptounet plan`")->required();
  cmd->add_option("--out", a->out, "Key folder to create (secret.key, eval.keys, keys.json)")->required();
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  cmd->callback([a] {
    const nn::PlanFile pf = nn::read_plan_file(a->plan);
    warn_if_insecure(pf.plan);
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = a->threads});
    namespace fs = std::filesystem;
    fs::create_directories(a->out);
    fs::permissions(a->out, fs::perms::owner_all, fs::perm_options::replace);
    const auto t0 = std::chrono::steady_clock::now();
    ckks::KeyGenerator kg(ctx);
    const ckks::SecretKey sk = kg.secret_key();
    const ckks::EvaluationKeys evk = nn::make_evaluation_keys(ctx, sk, pf.plan);
    const double secs = seconds_since(t0);
    const std::string sk_path = (fs::path(a->out) / nn::kSecretKeyFile).string();
    const std::string ek_path = (fs::path(a->out) / nn::kEvalKeysFile).string();
    ckks::save_secret_key_file(sk_path, sk, *ctx);
    const auto ek_bytes = ckks::save(evk, *ctx);
    ckks::save_file(ek_path, ek_bytes);
    nn::write_key_info(a->out, nn::KeyInfo{.key_id = nn::evaluation_key_id(evk),
                                            .plan = nn::plan_fingerprint(pf),
                                            .parameters = ctx->fingerprint()});
    std::printf("keys for plan %s (model %s, N=2^%d, %zu rotation steps) in %.2f s\n",
                hex64(nn::plan_fingerprint(pf)).c_str(), pf.model_name.c_str(), pf.plan.log_n,
                pf.plan.rotation_steps.size(), secs);
    std::printf("  %s  %s (secret, mode 0600: keep it here)\n", sk_path.c_str(),
                human_bytes(static_cast<double>(fs::file_size(sk_path))).c_str());
    std::printf("  %s  %s (relinearisation + %zu Galois keys, seeded: send to the server)\n",
                ek_path.c_str(), human_bytes(static_cast<double>(ek_bytes.size())).c_str(),
                evk.galois.keys.size());
    std::printf("  key id %s\n", hex64(nn::evaluation_key_id(evk)).c_str());
  });
}

Registrar reg("keygen", &setup_keygen);

}  // namespace
}  // namespace cryptounet::cli
