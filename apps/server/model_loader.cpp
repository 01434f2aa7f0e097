#include "server/model_loader.h"

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/encode_cache.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/segment_volume.h"
#include "cryptounet/workflow/server_infer.h"
#include "cryptounet/common/sha256.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <list>
#include <mutex>
#include <set>
#include <span>
#include <utility>

namespace cryptounet::server {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string sanitised_name(const std::string& path) {
  std::string n = std::filesystem::path(path).stem().string();
  for (char& c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (n.empty()) n = "model";
  if (n.size() > 64) n.resize(64);
  return n;
}

/// One model served by the CKKS encrypted executor. Immutable after construction except the key
/// cache (mutex) and the plaintext cache (encode once, its own mutex); the context is thread-safe to share, the graph and plan are read only.
class CkksModelService final : public ModelService {
 public:
  CkksModelService(const std::string& path, const ModelLoadOptions& opt)
      : name_(sanitised_name(path)),
        graph_(nn::load_model(path)),
        normalisation_(nn::read_card_normalisation(path)),
        cache_entries_(opt.key_cache_entries) {
    nn::PlanOptions po;
    if (opt.insecure_test_params || opt.insecure_test_log_n > 0) {
      po.log_n = opt.insecure_test_log_n;
      po.insecure_for_tests = true;
    }
    if (opt.throughput) {
      po.mode = packing::PackingMode::throughput;
      po.batch = 0;  // every row the ring holds
    }
    nn::PlanFile pf;
    pf.plan = nn::make_plan(graph_, po);
    pf.model_name = graph_.name;
    pf.mask_cleanup = graph_.mask_cleanup;
    pf.model_fingerprint = nn::model_file_fingerprint(path);
    plan_ = pf.plan;
    plan_json_ = nn::plan_to_json(pf);
    plan_fp_ = nn::plan_fingerprint(pf);
    ctx_ = ckks::Context::create(nn::plan_params(plan_), ExecOptions{.threads = opt.threads});
    const std::vector<int> in_levels(plan_.input().layout.team_size(), plan_.input_level);
    keys_bytes_ = ckks::evaluation_keys_file_size(*ctx_, true, plan_.rotation_steps.size(), true);
    ct_bytes_ = nn::encrypted_tensor_file_size(*ctx_, in_levels, true);
    if (plan_.insecure_for_tests)
      std::fprintf(stderr,
                   "WARNING: serving model %s with INSECURE test parameters (N=2^%d): tests only\n",
                   name_.c_str(), plan_.log_n);
  }

  [[nodiscard]] std::string name() const override { return name_; }
  [[nodiscard]] std::string plan_json() const override { return plan_json_; }
  [[nodiscard]] BlobSize eval_keys_size() const override { return {keys_bytes_, true}; }
  [[nodiscard]] BlobSize ciphertext_size() const override { return {ct_bytes_, true}; }
  [[nodiscard]] std::string normalisation() const override { return normalisation_; }

  void validate_eval_keys(std::string_view bytes) const override {
    (void)keys_for(bytes);  // deserialises, checks against the plan, caches
  }

  void validate_ciphertext(std::string_view bytes) const override {
    const nn::EncryptedTensor t = decode_input(bytes);
    (void)t;
  }

  std::string run(std::string_view eval_keys, std::string_view ciphertext,
                  const ProgressCallback& progress) const override {
    progress(0.0, "load");
    const std::shared_ptr<const ckks::EvaluationKeys> keys = keys_for(eval_keys);
    const std::uint64_t key_id = nn::evaluation_key_id(*keys);
    nn::EncryptedTensor in = decode_input(ciphertext);
    // The key-id binding: a ciphertext made under other keys would run for minutes and return
    // garbage; refuse it first.
    nn::check_encrypted_tensor(in, nn::TensorRole::input, plan_fp_, key_id, "the ciphertext");
    const int nodes = static_cast<int>(graph_.nodes.size());
    constexpr double kLoad = 0.02, kRun = 0.96;
    progress(kLoad, graph_.nodes.front().name);
    nn::RunOptions ro;
    // Called from this thread after each node; the server times a stage from its report, so
    // name the node that starts next.
    ro.progress = [&](int done, int total, const std::string&) {
      const double f = kLoad + kRun * done / std::max(total, 1);
      if (done < nodes)
        progress(f, graph_.nodes[static_cast<std::size_t>(done)].name);
      else
        progress(f, "serialise");
    };
    ro.encodings = &encodings_;  // masks and weight plaintexts encoded once for all sessions
    nn::EncryptedTensor out;
    out.cts = nn::infer_encrypted(ctx_, graph_, plan_, *keys, std::move(in.cts), nullptr, ro);
    out.plan = plan_fp_;
    out.key_id = key_id;
    out.role = nn::TensorRole::output;
    const auto bytes = nn::encode_encrypted_tensor(out, *ctx_);
    progress(1.0, "serialise");
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }

 private:
  nn::EncryptedTensor decode_input(std::string_view bytes) const {
    if (bytes.size() != ct_bytes_)
      throw FormatError("ciphertext for model " + name_ + ": " + std::to_string(bytes.size()) +
                        " bytes, expected " + std::to_string(ct_bytes_));
    nn::EncryptedTensor t = nn::decode_encrypted_tensor(as_bytes(bytes), *ctx_, "ciphertext for model " + name_);
    if (t.role != nn::TensorRole::input)
      throw FormatError("ciphertext for model " + name_ + ": holds an encrypted " +
                        std::string(nn::role_name(t.role)) + ", expected an input");
    if (t.plan != plan_fp_)
      throw FormatError("ciphertext for model " + name_ + ": made for another plan (" + hex(t.plan) +
                        ", this model's plan is " + hex(plan_fp_) + "); fetch the plan again and re-encrypt");
    if (t.cts.size() != static_cast<std::size_t>(plan_.input().layout.team_size()))
      throw FormatError("ciphertext for model " + name_ + ": " + std::to_string(t.cts.size()) +
                        " ciphertexts, the plan's input has " +
                        std::to_string(plan_.input().layout.team_size()));
    return t;
  }

  std::shared_ptr<const ckks::EvaluationKeys> keys_for(std::string_view bytes) const {
    const std::string digest = sha256_hex(bytes);
    {
      std::lock_guard lock(mu_);
      for (auto it = cache_.begin(); it != cache_.end(); ++it)
        if (it->first == digest) {
          cache_.splice(cache_.begin(), cache_, it);
          return cache_.front().second;
        }
    }
    if (bytes.size() != keys_bytes_)
      throw FormatError("evaluation keys for model " + name_ + ": " + std::to_string(bytes.size()) +
                        " bytes, expected " + std::to_string(keys_bytes_));
    // load_evaluation_keys refuses any other object kind (a secret key included), other
    // parameters (SecurityError), malformed or truncated input; then the plan's steps.
    auto keys = std::make_shared<const ckks::EvaluationKeys>(ckks::load_evaluation_keys(as_bytes(bytes), *ctx_));
    try {
      nn::check_evaluation_keys(*ctx_, plan_, *keys);
      (void)nn::evaluation_key_id(*keys);
    } catch (const InvalidArgument& e) {
      throw FormatError("evaluation keys for model " + name_ + ": " + e.what());
    }
    if (cache_entries_ == 0) return keys;
    std::lock_guard lock(mu_);
    cache_.emplace_front(digest, keys);
    while (cache_.size() > cache_entries_) cache_.pop_back();
    return keys;
  }

  static std::string hex(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
  }

  std::string name_;
  nn::Graph graph_;
  std::string normalisation_;
  nn::Plan plan_;
  std::string plan_json_;
  std::uint64_t plan_fp_ = 0;
  std::shared_ptr<const ckks::Context> ctx_;
  std::uint64_t keys_bytes_ = 0, ct_bytes_ = 0;
  std::size_t cache_entries_;
  mutable std::mutex mu_;
  mutable std::list<std::pair<std::string, std::shared_ptr<const ckks::EvaluationKeys>>> cache_;
  mutable nn::EncodeCache encodings_;  // thread-safe; one per (model, plan, context)
};

}  // namespace

std::vector<std::shared_ptr<const ModelService>> load_model_services(
    const std::vector<std::string>& model_paths, const ModelLoadOptions& options) {
  std::vector<std::shared_ptr<const ModelService>> out;
  std::set<std::string> names;
  for (const auto& p : model_paths) {
    auto s = std::make_shared<CkksModelService>(p, options);
    if (!names.insert(s->name()).second)
      throw InvalidArgument("serve: two models are named '" + s->name() + "' (from " + p +
                            "); rename one file");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace cryptounet::server
