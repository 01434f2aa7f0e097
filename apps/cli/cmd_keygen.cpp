// `cryptounet keygen` (client): a fresh secret key and the evaluation keys for exactly the
// rotations a plan asks for. KEYDIR/secret.key (0600) never leaves the client; KEYDIR/eval.keys
// is what the server receives.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"
#include "cli/workflow_util.h"
#include "client/progress.h"
#include "client/security_policy.h"
#include "cryptounet/common/private_directory.h"

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
  InsecureParams insecure;
  bool force = false;
  bool json = false;
};

void setup_keygen(CLI::App& root) {
  auto a = std::make_shared<KeygenArgs>();
  CLI::App* cmd = root.add_subcommand(
      "keygen", "Client: make a secret key and the evaluation keys a plan needs");
  cmd->add_option("plan,--plan", a->plan, "Plan file from `cryptounet plan`")->required();
  cmd->add_option("-o,--out", a->out, "Key folder to create (secret.key, eval.keys, keys.json)")->required();
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(kNonNegative);
  cmd->add_flag("--force", a->force, "Replace an existing secret key in --out");
  add_insecure_params_option(cmd, a->insecure, InsecureUse::takes_plan);
  add_json_flag(cmd, a->json);
  cmd->callback([a] {
    JsonOutput out(a->json);
    const nn::PlanFile pf = read_client_plan(a->plan, a->insecure);
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = a->threads});
    namespace fs = std::filesystem;
    // A new folder is made 0700; an existing one is used only if no one else can write to it
    // (never chmod-ed). An existing secret key is kept unless --force: the results made with it
    // could not be decrypted any more.
    make_private_directory(a->out);
    if (fs::exists(fs::path(a->out) / nn::kSecretKeyFile) && !a->force)
      throw InvalidArgument("'" + (fs::path(a->out) / nn::kSecretKeyFile).string() +
                            "' exists: results made with it could not be decrypted after a new key replaced it. "
                            "Choose another --out, or pass --force to replace it");
    const std::uint64_t key_bytes =
        client::check_key_budget(*ctx, pf.plan, client::kDefaultMaxEvalKeyBytes, "plan '" + a->plan + "'");
    const auto t0 = std::chrono::steady_clock::now();
    ckks::KeyGenerator kg(ctx);
    const ckks::SecretKey sk = kg.secret_key();
    client::ByteProgress shown = client::stderr_progress("keygen: making keys");
    const ckks::EvaluationKeys evk = nn::make_evaluation_keys(ctx, sk, pf.plan, [&](std::size_t done, std::size_t total) {
      shown(key_bytes / total * done, key_bytes / total * total);
    });
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
    auto& j = out.json();
    j["key_dir"] = a->out;
    j["secret_key"] = sk_path;
    j["eval_keys"] = ek_path;
    j["eval_keys_bytes"] = ek_bytes.size();
    j["galois_keys"] = evk.galois.keys.size();
    j["key_id"] = hex64(nn::evaluation_key_id(evk));
    j["plan"] = hex64(nn::plan_fingerprint(pf));
    j["model"] = pf.model_name;
    j["log_n"] = pf.plan.log_n;
    j["seconds"] = secs;
    out.emit();
  });
}

Registrar reg("keygen", &setup_keygen);

}  // namespace
}  // namespace cryptounet::cli
