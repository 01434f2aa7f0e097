// `cryptounet client`: send images to a `cryptounet serve` server and get their masks back.
// Fetches the plan, makes (or reuses) the keys, uploads the evaluation keys once per server and
// model (session cached), encrypts and submits each image, shows progress, downloads, decrypts
// and writes the outputs. The secret key never leaves this machine.
#include "cli/client_volume.h"
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"

#include "client/ckks_client_crypto.h"
#include "client/client_crypto.h"
#include "client/inference_client.h"
#include "client/progress.h"
#include "cryptounet/common/error.h"
#include "cryptounet/workflow/plan_io.h"
#if CU_TEST_HOOKS
#include "support/fake_client_crypto.h"  // tests/support: --fake-crypto
#endif

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <memory>
#include <string>
#include <vector>

namespace cryptounet::cli {
namespace {
namespace fs = std::filesystem;

struct ClientCliOptions {
  std::string server;
  std::string model;
  std::vector<std::string> images;
  std::string out_dir;
  std::string cache_dir;
  std::string key_dir;
  std::string ca_cert;
  bool no_cache = false;
  bool fake_crypto = false;
  bool resize = false;
  CleanMaskChoice clean_mask;  // images and volumes
  InsecureParams insecure;
  bool allow_http = false;
  bool json = false;
  int threads = 0;
  int slice = -1;
  ClientVolumeArgs volume;  // --volume: a whole volume as one server job
};

fs::path default_dir(const char* leaf) {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "cryptounet" / leaf;
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "cryptounet" / leaf;
  return fs::path(".cryptounet") / leaf;
}

void run_client(const ClientCliOptions& o) {
  JsonOutput json_out(o.json);
  client::ClientOptions options;
  options.server_url = o.server;
  options.ca_cert_file = o.ca_cert;
  options.allow_http = o.allow_http;
  if (!o.no_cache) options.cache_dir = o.cache_dir.empty() ? default_dir("sessions") : fs::path(o.cache_dir);
  options.upload_progress = client::stderr_progress("client: uploading evaluation keys");
  client::InferenceClient c(options);

  const auto models = c.list_models();
  const client::ModelInfo* model = nullptr;
  std::string names;
  for (const auto& m : models) {
    names += (names.empty() ? "" : ", ") + m.name;
    if (m.name == o.model || (o.model.empty() && models.size() == 1)) model = &m;
  }
  if (!model)
    throw InvalidArgument(o.model.empty() ? "client: the server has several models (" + names + "); pick one with --model"
                                          : "client: the server has no model '" + o.model + "' (it has: " + names + ")");

  if (o.insecure.log_n != 0)
    check_insecure_ring(o.insecure, nn::plan_from_json(model->plan_json).plan.log_n,
                        "the plan of model '" + model->name + "'");
  const fs::path key_dir = o.key_dir.empty() ? default_dir("keys") : fs::path(o.key_dir);
  // The plan carries the model card's mask step; a plan the client cannot read fails below, in
  // the crypto's own check, with its message.
  nn::MaskCleanup card_cleanup = nn::MaskCleanup::none;
  try {
    card_cleanup = nn::plan_from_json(model->plan_json).mask_cleanup;
  } catch (const Error&) {
  }
  const bool clean_mask = o.clean_mask.resolve(card_cleanup, model->name);
  if (!o.volume.input.empty()) {
    client::CkksClientCrypto crypto(*model, key_dir,
                                    client::ClientCryptoOptions{.server_url = o.server,
                                                                .threads = o.threads,
                                                                .allow_insecure_params = o.insecure.given});
    const std::string keys = crypto.evaluation_keys();
    client::Session session = c.open_session(model->name, keys);
    if (!o.volume.quiet)
      std::fprintf(stderr, "client: model %s, session %s, volume %s\n", model->name.c_str(), session.id.c_str(),
                   o.volume.input.c_str());
    ClientVolumeArgs volume = o.volume;
    volume.clean_mask = clean_mask;
    run_client_volume(c, session, *model, crypto, volume, json_out);
    return;
  }
  std::unique_ptr<client::ClientCrypto> crypto;
#if CU_TEST_HOOKS
  if (o.fake_crypto) crypto = client::make_fake_client_crypto(*model, key_dir);
#endif
  if (!crypto)
    crypto = client::make_client_crypto(*model, key_dir,
                                        client::ClientCryptoOptions{.server_url = o.server,
                                                                    .resize = o.resize,
                                                                    .threads = o.threads,
                                                                    .slice = o.slice,
                                                                    .allow_insecure_params = o.insecure.given,
                                                                    .clean_mask = clean_mask});

  std::vector<std::string> cts;
  for (const auto& img : o.images) cts.push_back(crypto->encrypt_image(img));
  const std::string keys = crypto->evaluation_keys();
  client::Session session = c.open_session(model->name, keys);
  std::fprintf(stderr, "client: model %s, session %s, %zu image(s)\n", model->name.c_str(),
               session.id.c_str(), cts.size());
  const auto show = [&](std::size_t i, const client::JobStatus& s) {
    std::fprintf(stderr, "\r[%zu/%zu] %-40s %-8s %3.0f%% %-20s", i + 1, cts.size(),
                 fs::path(o.images[i]).filename().c_str(), s.state.c_str(), 100 * s.progress,
                 s.stage.c_str());
    if (s.finished()) std::fprintf(stderr, "\n");
  };
  std::vector<std::string> results;
  try {
    results = c.run_batch(session, cts, show);
  } catch (const client::ServerError& e) {
    if (e.status() != 404) throw;
    // The session expired or the server lost it mid-run: upload the keys again, once.
    std::fprintf(stderr, "\nclient: session gone (%s); opening a new one\n", e.what());
    c.forget_cached_session(model->name);
    session = c.open_session(model->name, keys);
    results = c.run_batch(session, cts, show);
  }
  nlohmann::ordered_json images = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::vector<std::string> written;
    for (const auto& p : crypto->decrypt_and_write(results[i], o.images[i], o.out_dir)) {
      std::printf("%s\n", p.c_str());
      written.push_back(p.string());
    }
    images.push_back({{"image", o.images[i]}, {"files", written}});
  }
  auto& j = json_out.json();
  j["server"] = o.server;
  j["model"] = model->name;
  j["session"] = session.id;
  j["images"] = std::move(images);
  json_out.emit();
}

void check_client_args(ClientCliOptions& o) {
  if (o.volume.input.empty()) {
    if (o.images.empty()) throw InvalidArgument("client: give image files, or --volume IN for a whole volume");
    return;
  }
  if (!o.images.empty())
    throw InvalidArgument("client: --volume takes one volume; image files go without --volume (not both)");
  if (o.fake_crypto) throw InvalidArgument("client: --volume needs the real cryptography (not --fake-crypto)");
  if (o.resize || o.slice >= 0)
    throw InvalidArgument("client: --resize and --slice are for images; a volume's slices are always resampled");
  o.volume.out = o.out_dir;
}

void setup_client(CLI::App& root) {
  auto opts = std::make_shared<ClientCliOptions>();
  CLI::App* cmd = root.add_subcommand(
      "client", "Segment images on a CryptoUNet server; only ciphertexts and public keys leave this machine");
  cmd->add_option("--server", opts->server, "Server URL, http(s)://host:port")->required();
  cmd->add_option("--model", opts->model, "Model name (needed if the server has several)");
  cmd->add_option("images", opts->images, "Image files: PNG, TIFF, DICOM, NIfTI (.nii, .nii.gz)")->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", opts->out_dir, "Output directory (with --volume: the mask file, .nii/.nii.gz)")->required();
  const char* vol = "Volumes (--volume: the whole volume as one server job)";
  cmd->add_option("--volume", opts->volume.input,
                  "NIfTI file or DICOM series folder: segmented slice by slice on the server as one job; -o is "
                  "the mask (the input's geometry); finished slices are kept in OUT.partial for a rerun")
      ->group(vol);
  cmd->add_option("--axis", opts->volume.axis, "Slice axis: axial, coronal or sagittal")
      ->check(CLI::IsMember({"axial", "coronal", "sagittal"}))
      ->group(vol);
  cmd->add_option("--slices", opts->volume.slices, "Only slices FIRST:LAST (inclusive); the rest stay 0")->group(vol);
  cmd->add_option("--probabilities", opts->volume.probabilities,
                  "Also write the foreground probability per voxel here (.nii/.nii.gz, float32)")
      ->group(vol);
  cmd->add_option("--checkpoint", opts->volume.checkpoint, "Checkpoint folder (default OUT.partial)")->group(vol);
  cmd->add_flag("--no-checkpoint", opts->volume.no_checkpoint, "Keep no checkpoint")->group(vol);
  cmd->add_option("--threshold", opts->volume.threshold, "Logit threshold for 1-channel heads (0 = p 0.5)")
      ->group(vol);
  cmd->add_flag("--quiet", opts->volume.quiet, "No progress lines (volumes)")->group(vol);
  cmd->add_option("--cache-dir", opts->cache_dir, "Session cache (default ~/.cache/cryptounet/sessions)");
  cmd->add_option("--key-dir", opts->key_dir, "Key directory (default ~/.cache/cryptounet/keys)");
  cmd->add_option("--ca-cert", opts->ca_cert, "CA certificate to trust for https");
  add_insecure_params_option(cmd, opts->insecure, InsecureUse::takes_plan);
  cmd->add_flag("--allow-http", opts->allow_http,
                "Allow plain http:// to a host other than this machine (refused otherwise)");
  cmd->add_flag("--no-cache", opts->no_cache, "Do not reuse or remember sessions");
  cmd->add_flag("--resize", opts->resize, "Resample images of another size to the model's input");
  add_clean_mask_flag(cmd, opts->clean_mask);
  cmd->add_option("--slice", opts->slice,
                  "Volumes: DICOM frame / NIfTI z slice / TIFF page to segment (default: the middle "
                  "one; TIFF: the first)");
  cmd->add_option("--threads", opts->threads, "Threads for keys, encryption, decryption (0 = all cores)")
      ->check(kNonNegative);
#if CU_TEST_HOOKS
  // Test hooks (tests/support, in builds with CU_TEST_HOOKS=ON, the default): listed by --help in
  // their own group.
  cmd->add_flag("--fake-crypto", opts->fake_crypto,
                "No cryptography: random blobs for a `serve --fake-service` server (tests only)")
      ->group("Test only (no cryptography; CU_TEST_HOOKS build)");
#endif
  add_json_flag(cmd, opts->json);
  cmd->callback([opts] {
    check_client_args(*opts);
    run_client(*opts);
  });
}

Registrar reg("client", &setup_client);

}  // namespace
}  // namespace cryptounet::cli
