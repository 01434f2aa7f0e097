#include "cli/cmd_segment_volume_mpi.h"

#include <csignal>
#include <cstdlib>
#include <memory>
#include <span>

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/encode_cache.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"

namespace cryptounet::cli {
namespace {

using distributed::Bytes;

// One rank's batches: the masks and weight plaintexts are encoded by the first batch only (one
// EncodeCache per rank, kept for the whole volume; the same ciphertexts bit for bit).
std::function<Bytes(Bytes)> encrypted_compute(std::shared_ptr<const ckks::Context> ctx, const nn::Graph& graph,
                                              const nn::Plan& plan, const ckks::EvaluationKeys& keys) {
  auto cache = std::make_shared<nn::EncodeCache>();
  return [ctx = std::move(ctx), cache, &graph, &plan, &keys](Bytes in) {
    std::vector<ckks::Ciphertext> cts = ckks::load_ciphertext_set(in, *ctx);
    in = Bytes{};
    nn::RunOptions options;
    options.encodings = cache.get();
    const std::vector<ckks::Ciphertext> out =
        nn::infer_encrypted(ctx, graph, plan, keys, std::move(cts), nullptr, options);
    return ckks::save_ciphertext_set(out, *ctx);
  };
}

std::function<Bytes(Bytes)> plain_compute(const nn::Graph& graph) {
  return [&graph](Bytes in) {
    const std::vector<nn::Tensor> inputs = nn::decode_tensors(in);
    std::vector<nn::Tensor> out;
    for (const nn::Tensor& t : inputs) out.push_back(nn::run_reference(graph, t));
    return nn::encode_tensors(out);
  };
}

void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

Bytes encrypted_volume_setup(const nn::EncryptedPipeline& pipe, const nn::Graph& graph) {
  const std::string plan = nn::plan_to_json(nn::PlanFile{pipe.plan(), graph.name, ""});
  Bytes out;
  put_u64(out, plan.size());
  out.insert(out.end(), plan.begin(), plan.end());
  const Bytes keys = ckks::save(pipe.evaluation_keys(), *pipe.context());
  out.insert(out.end(), keys.begin(), keys.end());
  return out;
}

nn::RemoteSliceModel encrypted_remote_model(std::shared_ptr<nn::EncryptedPipeline> pipe, const nn::Graph& graph) {
  nn::RemoteSliceModel m;
  m.batch = pipe->plan().batch;
  m.encode = [pipe](const std::vector<nn::Tensor>& in) {
    return ckks::save_ciphertext_set(pipe->encrypt_batch(in), *pipe->context());
  };
  m.compute = encrypted_compute(pipe->context(), graph, pipe->plan(), pipe->evaluation_keys());
  m.decode = [pipe](Bytes out, std::size_t count) {
    return pipe->decrypt_batch(ckks::load_ciphertext_set(out, *pipe->context()), count);
  };
  return m;
}

nn::RemoteSliceModel plain_remote_model(const nn::Graph& graph) {
  nn::RemoteSliceModel m;
  m.batch = 1;
  m.encode = [](const std::vector<nn::Tensor>& in) { return nn::encode_tensors(in); };
  m.compute = plain_compute(graph);
  m.decode = [](Bytes out, std::size_t count) {
    std::vector<nn::Tensor> t = nn::decode_tensors(out);
    if (t.size() < count) throw FormatError("volume batch: fewer results than inputs");
    t.resize(count);
    return t;
  };
  return m;
}

void serve_volume_batches(distributed::World& world, const nn::Graph& graph, const Bytes& setup, bool plaintext,
                          int threads) {
  // Test hook: this rank dies abruptly (as with kill -9) when handed its first batch.
  const char* kill_env = std::getenv("CU_TEST_VOLUME_KILL_RANK");
  const bool die = kill_env != nullptr && std::atoi(kill_env) == world.rank();
  std::function<Bytes(Bytes)> compute;
  nn::PlanFile pf;
  std::shared_ptr<const ckks::Context> ctx;
  ckks::EvaluationKeys keys;
  if (plaintext) {
    compute = plain_compute(graph);
  } else {
    std::uint64_t n = 0;
    if (setup.size() < 8) throw FormatError("segment-volume: rank 0 sent no plan");
    for (int i = 0; i < 8; ++i) n |= std::uint64_t{setup[static_cast<std::size_t>(i)]} << (8 * i);
    if (n > setup.size() - 8) throw FormatError("segment-volume: rank 0's plan is truncated");
    pf = nn::plan_from_json(std::string(setup.begin() + 8, setup.begin() + 8 + static_cast<std::ptrdiff_t>(n)));
    ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = threads});
    keys = ckks::load_evaluation_keys(std::span(setup).subspan(8 + n), *ctx);
    nn::check_evaluation_keys(*ctx, pf.plan, keys);
    compute = encrypted_compute(ctx, graph, pf.plan, keys);
  }
  (void)nn::serve_slice_batches(world, [&](Bytes in) {
    if (die) std::raise(SIGKILL);
    return compute(std::move(in));
  });
}

}  // namespace cryptounet::cli
