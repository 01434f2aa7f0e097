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
#include "cryptounet/workflow/split_infer.h"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/sha256.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <cstdio>
#include <filesystem>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <utility>

namespace cryptounet::server {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// serve --mpi: rank 0 to the other ranks.
constexpr int kSplitJobTag = 7101, kSplitStopTag = 7102;

/// The ranks run one image at a time, together: one split run in flight across all models.
std::mutex& split_run_mutex() {
  static std::mutex m;
  return m;
}

/// One split job as rank 0 sends it: the model's index, the digest of the keys the run is for,
/// whether they changed (then the key blob follows), the ciphertext blob (empty: keys sent ahead).
struct SplitJob {
  std::uint32_t model = 0;
  std::string key_digest;
  bool new_keys = false;
  std::string_view keys, ciphertext;
};

std::vector<std::uint8_t> encode_split_job(const SplitJob& j) {
  BinaryWriter w;
  w.reserve_more(25 + j.key_digest.size() + j.keys.size() + j.ciphertext.size());
  w.u32(j.model);
  w.str(j.key_digest);
  w.u8(j.new_keys ? 1 : 0);
  w.u64(j.keys.size());
  w.raw(as_bytes(j.keys));
  w.u64(j.ciphertext.size());
  w.raw(as_bytes(j.ciphertext));
  return w.take();
}

/// The inverse of encode_split_job (views into `m`). @throws FormatError on a malformed message.
SplitJob decode_split_job(const std::vector<std::uint8_t>& m) {
  BinaryReader r(m, "serve: split job from rank 0");
  auto blob = [&](const char* field) {
    const auto bytes = r.raw(r.count(UINT64_MAX, 1, field));
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };
  SplitJob j;
  j.model = r.u32();
  j.key_digest = r.str(64);
  j.new_keys = r.u8() != 0;
  j.keys = blob("key bytes");
  j.ciphertext = blob("ciphertext bytes");
  r.expect_end();
  return j;
}

/// rank 0 of serve --mpi: `msg` to every other rank.
void send_to_other_ranks(distributed::World& world, int tag, const std::vector<std::uint8_t>& msg) {
  for (int r = 1; r < world.size(); ++r) world.send(r, tag, msg);
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
  CkksModelService(const std::string& path, const ModelLoadOptions& opt, std::uint32_t index)
      : name_(sanitised_name(path)),
        graph_(nn::load_model(path)),
        normalisation_(nn::read_card_normalisation(path)),
        cache_entries_(opt.key_cache_entries),
        world_(opt.split_world),
        index_(index) {
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
    ctx_ = ckks::Context::create(
        nn::plan_params(plan_),
        ExecOptions{.threads = world_ != nullptr ? world_->threads_per_rank(opt.threads) : opt.threads});
    const std::vector<int> in_levels(plan_.input().layout.team_size(), plan_.input_level);
    keys_bytes_ = ckks::evaluation_keys_file_size(*ctx_, true, plan_.rotation_steps.size(), true);
    ct_bytes_ = nn::encrypted_tensor_file_size(*ctx_, in_levels, true);
    if (plan_.insecure_for_tests && !opt.quiet)
      std::fprintf(stderr,
                   "WARNING: serving model %s with INSECURE test parameters (N=2^%d): tests only\n",
                   name_.c_str(), plan_.log_n);
  }

  [[nodiscard]] std::string name() const override { return name_; }
  [[nodiscard]] std::string plan_json() const override { return plan_json_; }
  [[nodiscard]] BlobSize eval_keys_size() const override { return {keys_bytes_, true}; }
  [[nodiscard]] BlobSize ciphertext_size() const override { return {ct_bytes_, true}; }
  [[nodiscard]] std::string normalisation() const override { return normalisation_; }

  /// Returns the keys' SHA-256 digest: the server hands it back with the session's jobs
  /// (SessionKeys::identity), which then find the keys cached without reading the stored blob.
  std::string validate_eval_keys(std::string_view bytes) const override {
    // serve --mpi: when the ranks are idle, a new session's keys go to them first, and every rank
    // checks and unpacks them at the same time, while the client encrypts and uploads: not one
    // after the other, and not in the first image's run.
    if (world_ != nullptr && world_->distributed()) {
      std::unique_lock lock(split_run_mutex(), std::try_to_lock);
      if (lock.owns_lock()) {
        const std::string digest = sha256_hex(bytes);
        if (digest == split_digest_) return digest;
        send_to_other_ranks(*world_, kSplitJobTag,
                            encode_split_job(SplitJob{index_, digest, true, bytes, {}}));
        // Keys this rank refuses, the others refuse too (the same checks) and keep their keys.
        use_split_keys(load_keys(bytes, digest), digest);
        return digest;
      }
    }
    std::string digest;
    (void)keys_for(bytes, &digest);  // deserialises, checks against the plan, caches
    return digest;
  }

  void validate_ciphertext(std::string_view bytes) const override {
    const nn::EncryptedTensor t = decode_input(bytes);
    (void)t;
  }

  std::string run(const SessionKeys& session_keys, std::string_view ciphertext,
                  const ProgressCallback& progress) const override {
    progress(0.0, "load");
    const bool split = world_ != nullptr && world_->distributed();
    std::string digest, key_blob;  // serve --mpi: the blob if it had to be read (the ranks may need it)
    const std::shared_ptr<const ckks::EvaluationKeys> keys =
        keys_of_session(session_keys, &digest, split ? &key_blob : nullptr);
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
    if (split)
      out.cts = run_split(session_keys, digest, std::move(key_blob), keys, ciphertext, std::move(in.cts), ro);
    else
      out.cts = nn::infer_encrypted(ctx_, graph_, plan_, *keys, std::move(in.cts), nullptr, ro);
    out.plan = plan_fp_;
    out.key_id = key_id;
    out.role = nn::TensorRole::output;
    const auto bytes = nn::encode_encrypted_tensor(out, *ctx_);
    progress(1.0, "serialise");
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }

  /// `serve --mpi`, a rank other than 0: its part of the split run that rank 0 has started
  /// (serve_split_jobs). The keys and the ciphertext are checked here as rank 0 checked them.
  void run_split_job(const SplitJob& job) const {
    std::lock_guard lock(split_run_mutex());
    if (job.new_keys) {
      try {
        std::string digest;
        auto keys = keys_for(job.keys, &digest);
        use_split_keys(std::move(keys), std::move(digest));
      } catch (const Error&) {
        // Keys sent ahead of the runs (validate_eval_keys): rank 0 checks them at the same time and
        // refuses the session if they fail, so a refusal here keeps this rank's keys as they were.
        if (!job.ciphertext.empty()) throw;
      }
    }
    if (job.ciphertext.empty()) return;
    if (!split_) throw FormatError("serve: a split job of model " + name_ + " before its keys");
    if (job.key_digest != split_digest_)
      throw FormatError("serve: a split job of model " + name_ + " for other keys than this rank holds");
    nn::EncryptedTensor in = decode_input(job.ciphertext);
    nn::RunOptions ro;
    ro.encodings = &encodings_;
    (void)split_->run(std::move(in.cts), nullptr, nullptr, ro);
  }

 private:
  /// Rank 0 of `serve --mpi`: sends the job to the other ranks (with the keys when they are not
  /// the last run's) and runs its part; every rank ends with the whole output.
  std::vector<ckks::Ciphertext> run_split(const SessionKeys& session_keys, const std::string& digest,
                                          std::string key_blob, std::shared_ptr<const ckks::EvaluationKeys> keys,
                                          std::string_view ct_blob, std::vector<ckks::Ciphertext> cts,
                                          nn::RunOptions ro) const {
    std::lock_guard lock(split_run_mutex());
    // A job cancelled while it waited for the ranks ends here, before they are sent anything.
    if (ro.progress) ro.progress(0, static_cast<int>(graph_.nodes.size()), "");
    const bool new_keys = digest != split_digest_;
    // The ranks hold the last run's keys; a change of keys sends the session's blob (read now
    // unless keys_of_session read it, and checked against the digest the keys were found by).
    if (!new_keys) {
      key_blob.clear();
    } else if (key_blob.empty()) {
      key_blob = session_keys.blob();
      if (sha256_hex(key_blob) != digest) throw_changed_on_disk(session_keys);
    }
    send_to_other_ranks(*world_, kSplitJobTag,
                        encode_split_job(SplitJob{index_, digest, new_keys, key_blob, ct_blob}));
    std::string().swap(key_blob);  // sent: not held through the run
    if (new_keys) use_split_keys(std::move(keys), digest);
    // The server cancels a job (shutdown) by throwing from `progress`. The other ranks are inside
    // the same run and cannot leave it: the run finishes, then the cancellation is thrown.
    std::exception_ptr cancelled;
    const auto report = ro.progress;
    ro.progress = [&](int done, int total, const std::string& what) {
      if (cancelled || !report) return;
      try {
        report(done, total, what);
      } catch (...) {
        cancelled = std::current_exception();
      }
    };
    std::vector<ckks::Ciphertext> out;
    try {
      out = split_->run(std::move(cts), nullptr, nullptr, ro);
    } catch (const std::exception& e) {
      world_->fail("serve: the split run of model " + name_ + " failed: " + e.what());
    }
    if (cancelled) std::rethrow_exception(cancelled);
    return out;
  }

  /// The keys of the split runs from now on (split_run_mutex held).
  void use_split_keys(std::shared_ptr<const ckks::EvaluationKeys> keys, std::string digest) const {
    split_.reset();
    split_keys_ = std::move(keys);
    split_ = std::make_unique<nn::SplitInference>(*world_, ctx_, graph_, plan_, *split_keys_);
    split_digest_ = std::move(digest);
  }

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

  /// The keys of a job's session: from the cache when their digest is known (the session's
  /// identity, or the digest this service saw for the session) and still cached: no read, no hash.
  /// Else the blob is read (kept in `blob_out` if not null), hashed and loaded as keys_for().
  /// `digest_out` gets the digest.
  std::shared_ptr<const ckks::EvaluationKeys> keys_of_session(const SessionKeys& s, std::string* digest_out,
                                                              std::string* blob_out) const {
    if (!s.session.empty()) {
      std::lock_guard lock(mu_);
      std::string known = s.identity;  // validate_eval_keys' digest when this process made the session
      if (known.empty())
        if (const auto d = session_digests_.find(s.session); d != session_digests_.end()) known = d->second;
      if (auto keys = known.empty() ? nullptr : cached_keys(known)) {
        *digest_out = std::move(known);
        return keys;
      }
    }
    std::string blob = s.blob();
    auto keys = keys_for(blob, digest_out);
    if (!s.identity.empty() && *digest_out != s.identity) throw_changed_on_disk(s);
    if (blob_out != nullptr) *blob_out = std::move(blob);
    if (!s.session.empty()) {
      std::lock_guard lock(mu_);
      if (session_digests_.size() >= kMaxSessionDigests) session_digests_.clear();
      session_digests_[s.session] = *digest_out;
    }
    return keys;
  }

  [[noreturn]] static void throw_changed_on_disk(const SessionKeys& s) {
    throw IoError("serve: the stored evaluation keys of session " + s.session + " changed on disk");
  }

  /// The cached keys of `digest`, made the most recently used; null if not cached (mu_ held).
  std::shared_ptr<const ckks::EvaluationKeys> cached_keys(const std::string& digest) const {
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if (it->first == digest) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front().second;
      }
    return nullptr;
  }

  /// The deserialised, checked keys of `bytes` (cached by digest); `digest_out` (optional) gets
  /// the digest.
  std::shared_ptr<const ckks::EvaluationKeys> keys_for(std::string_view bytes, std::string* digest_out) const {
    const std::string digest = sha256_hex(bytes);
    if (digest_out != nullptr) *digest_out = digest;
    return load_keys(bytes, digest);
  }

  /// keys_for() with the digest of `bytes` already known.
  std::shared_ptr<const ckks::EvaluationKeys> load_keys(std::string_view bytes, const std::string& digest) const {
    {
      std::lock_guard lock(mu_);
      if (auto keys = cached_keys(digest)) return keys;
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
  // Session id -> digest of its key blob (mu_): a session's later jobs neither read nor hash it.
  static constexpr std::size_t kMaxSessionDigests = 4096;
  mutable std::map<std::string, std::string> session_digests_;
  mutable nn::EncodeCache encodings_;  // thread-safe; one per (model, plan, context)
  // serve --mpi (world_ distributed): the keys of the last split run and its split (guarded by
  // split_run_mutex()); index_ names this model in the jobs sent to the other ranks.
  distributed::World* world_ = nullptr;
  std::uint32_t index_ = 0;
  mutable std::string split_digest_;
  mutable std::shared_ptr<const ckks::EvaluationKeys> split_keys_;
  mutable std::unique_ptr<nn::SplitInference> split_;
};

}  // namespace

std::vector<std::shared_ptr<const ModelService>> load_model_services(
    const std::vector<std::string>& model_paths, const ModelLoadOptions& options) {
  std::vector<std::shared_ptr<const ModelService>> out;
  std::set<std::string> names;
  for (const auto& p : model_paths) {
    auto s = std::make_shared<CkksModelService>(p, options, static_cast<std::uint32_t>(out.size()));
    if (!names.insert(s->name()).second)
      throw InvalidArgument("serve: two models are named '" + s->name() + "' (from " + p +
                            "); rename one file");
    out.push_back(std::move(s));
  }
  return out;
}

void serve_split_jobs(const std::vector<std::shared_ptr<const ModelService>>& services, distributed::World& world) {
  distributed::run_or_fail(world, [&] {
    std::vector<std::uint8_t> msg;
    for (;;) {
      int tag = 0;
      world.receive(0, &tag, &msg);
      if (tag == kSplitStopTag) return;
      if (tag != kSplitJobTag) throw FormatError("serve: unexpected message tag " + std::to_string(tag) + " from rank 0");
      const SplitJob job = decode_split_job(msg);
      const auto* service =
          job.model < services.size() ? dynamic_cast<const CkksModelService*>(services[job.model].get()) : nullptr;
      if (service == nullptr)
        throw FormatError("serve: a split job for model " + std::to_string(job.model) + " of " +
                          std::to_string(services.size()));
      service->run_split_job(job);
    }
  });
}

void stop_split_jobs(distributed::World& world) { send_to_other_ranks(world, kSplitStopTag, {}); }

}  // namespace cryptounet::server
