#include "client/ckks_client_crypto.h"
#include "client/progress.h"
#include "client/security_policy.h"

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/resize.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/segment.h"
#include "cryptounet/common/file_io.h"
#include "cryptounet/common/private_directory.h"
#include "cryptounet/common/secure_random.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <span>
#include <system_error>

namespace cryptounet::client {
namespace fs = std::filesystem;
namespace {

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string safe(std::string_view s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  if (out.size() > 80) out.resize(80);
  return out.empty() ? "_" : out;
}

/// "http://host:port/x" -> "host_port".
std::string server_tag(const std::string& url) {
  if (url.empty()) return "local";
  std::string s = url;
  if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
  if (auto p = s.find('/'); p != std::string::npos) s.resize(p);
  return safe(s);
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

CkksClientCrypto::CkksClientCrypto(const ModelInfo& model, const fs::path& key_dir,
                                   const ClientCryptoOptions& options)
    : model_(model), options_(options) {
  try {
    plan_ = nn::plan_from_json(model.plan_json);
  } catch (const FormatError& e) {
    throw FormatError("client: the plan of model '" + model.name + "' from the server: " + e.what());
  }
  check_plan_security(plan_.plan, options.allow_insecure_params, "model '" + model.name + "'");
  check_rotation_steps(plan_.plan, "model '" + model.name + "'");
  plan_fp_ = nn::plan_fingerprint(plan_);
  ctx_ = ckks::Context::create(nn::plan_params(plan_.plan), ExecOptions{.threads = options.threads});
  make_private_directory(key_dir);
  folder_ = key_dir / (server_tag(options.server_url) + "_" + safe(model.name) + "_" + hex64(plan_fp_));
  if (fs::exists(folder_ / nn::kKeyInfoFile)) {
    info_ = nn::read_key_info(folder_.string());
    if (info_.plan != plan_fp_ || info_.parameters != ctx_->fingerprint())
      throw FormatError("client: the keys in " + folder_.string() + " were made for another plan");
    return;
  }
  // Make the keys in a private temporary folder, then rename it into place (a concurrent client
  // that won the race leaves its keys, which are then used).
  const std::uint64_t key_bytes =
      check_key_budget(*ctx_, plan_.plan, options.max_eval_key_bytes, "keys for model '" + model.name + "'");
  const fs::path tmp = key_dir / (".tmp-" + random_hex(8));
  make_private_directory(tmp);
  try {
    // Key generation takes seconds to minutes at 128-bit parameters: say what is being made, and
    // show how far it has got, in MiB (stderr only).
    std::fprintf(stderr, "client: making keys for model %s (N=2^%d, relinearisation + %zu Galois keys)\n",
                 model.name.c_str(), plan_.plan.log_n, plan_.plan.rotation_steps.size());
    const auto t0 = std::chrono::steady_clock::now();
    ckks::KeyGenerator kg(ctx_);
    const ckks::SecretKey sk = kg.secret_key();
    ByteProgress shown = stderr_progress("client: making keys");
    const ckks::EvaluationKeys evk =
        nn::make_evaluation_keys(ctx_, sk, plan_.plan, [&](std::size_t done, std::size_t total) {
          shown(key_bytes / total * done, key_bytes / total * total);
        });
    ckks::save_secret_key_file((tmp / nn::kSecretKeyFile).string(), sk, *ctx_);
    const auto evk_bytes = ckks::save(evk, *ctx_);
    ckks::save_file((tmp / nn::kEvalKeysFile).string(), evk_bytes);
    std::fprintf(stderr, "client: keys made in %.1f s; evaluation keys %.1f MiB to upload (once per session), "
                         "secret key kept in %s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                 static_cast<double>(evk_bytes.size()) / 1048576.0, folder_.string().c_str());
    nn::write_key_info(tmp.string(), nn::KeyInfo{.key_id = nn::evaluation_key_id(evk),
                                                 .plan = plan_fp_,
                                                 .parameters = ctx_->fingerprint()});
    std::error_code ec;
    fs::rename(tmp, folder_, ec);
    if (ec) fs::remove_all(tmp);
    fsync_directory(key_dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  info_ = nn::read_key_info(folder_.string());
}

std::string CkksClientCrypto::evaluation_keys() {
  return read_file_string(folder_ / nn::kEvalKeysFile, kOwnFileAnySize);
}

std::string CkksClientCrypto::encrypt_image(const fs::path& image) {
  // The model's size is known: a file declaring another one is refused before it is decoded.
  const data::Image img = data::read_any_image(image.string(), options_.slice,
                                               nn::plan_plane_limit(plan_.plan, plan_.model_name, options_.resize));
  const nn::Tensor input = nn::plan_input_tensor(plan_.plan, plan_.model_name, img, options_.resize,
                                                 "image '" + image.string() + "'");
  return encrypt_inputs({input});
}

std::string CkksClientCrypto::encrypt_inputs(const std::vector<nn::Tensor>& inputs) {
  const ckks::SecretKey sk = ckks::load_secret_key_file((folder_ / nn::kSecretKeyFile).string(), *ctx_);
  nn::EncryptedTensor t;
  t.plan = plan_fp_;
  t.key_id = info_.key_id;
  t.role = nn::TensorRole::input;
  std::vector<nn::Tensor> batch = inputs;  // a throughput plan's unused images are zeros
  if (batch.empty() || batch.size() > static_cast<std::size_t>(std::max(1, plan_.plan.batch)))
    throw InvalidArgument("client: " + std::to_string(batch.size()) + " images for a plan of " +
                          std::to_string(plan_.plan.batch) + " per ciphertext");
  while (batch.size() < static_cast<std::size_t>(plan_.plan.batch)) batch.emplace_back(batch.front().shape);
  t.cts = nn::encrypt_inputs(ctx_, sk, plan_.plan, batch);
  const auto bytes = nn::encode_encrypted_tensor(t, *ctx_);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

nn::Tensor CkksClientCrypto::decrypt_logits(std::string_view result) const { return decrypt_batch(result).at(0); }

std::vector<nn::Tensor> CkksClientCrypto::decrypt_batch(std::string_view result) const {
  const nn::EncryptedTensor t = nn::decode_encrypted_tensor(as_bytes(result), *ctx_, "the server's result");
  // Refuses a result made for another plan or under another key before touching the secret key.
  nn::check_encrypted_tensor(t, nn::TensorRole::output, plan_fp_, info_.key_id, "the server's result");
  const ckks::SecretKey sk = ckks::load_secret_key_file((folder_ / nn::kSecretKeyFile).string(), *ctx_);
  return nn::decrypt_outputs(ctx_, sk, plan_.plan, t.cts);
}

std::vector<fs::path> CkksClientCrypto::decrypt_and_write(std::string_view result, const fs::path& image,
                                                          const fs::path& out_dir) {
  const nn::Tensor logits = decrypt_logits(result);
  data::Mask mask = nn::output_mask(logits, 0.0, options_.clean_mask);
  const data::Image img = data::read_any_image(image.string(), options_.slice,
                                               nn::plan_plane_limit(plan_.plan, plan_.model_name, options_.resize));
  if (img.width != mask.width || img.height != mask.height)
    mask = data::resize_majority(mask, img.width, img.height);
  fs::create_directories(out_dir);
  const std::string stem = data::image_file_stem(image.string());
  const fs::path mask_path = out_dir / (stem + ".mask.png");
  const fs::path overlay_path = out_dir / (stem + ".overlay.png");
  data::write_mask_png(mask_path.string(), mask);
  data::write_rgb_png(overlay_path.string(), data::overlay(img, mask));
  return {mask_path, overlay_path};
}

std::unique_ptr<ClientCrypto> make_client_crypto(const ModelInfo& model, const fs::path& key_dir,
                                                 const ClientCryptoOptions& options) {
  return std::make_unique<CkksClientCrypto>(model, key_dir, options);
}

}  // namespace cryptounet::client
