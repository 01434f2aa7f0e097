#include "cryptounet/workflow/split_infer.h"

#include <time.h>

#include <chrono>
#include <map>
#include <span>

#include "cryptounet/common/error.h"
#include "cryptounet/he/exec/split_plan.h"
#include "cryptounet/workflow/server_infer.h"
#include "cryptounet/workflow/split_infer_wire.h"

namespace cryptounet::nn {

// What a SplitInference keeps across its runs: the split, and the exchange buffers with their
// counts (fresh pages only when an exchange is the largest so far, over every run).
struct SplitInference::Buffers {
  SplitPlan split;
  distributed::ExchangeBuffer send_buf, recv_buf;
  std::vector<std::uint64_t> send_counts, recv_counts, recv_offsets;
};

SplitInference::SplitInference(distributed::World& world, std::shared_ptr<const ckks::Context> ctx,
                               const Graph& graph, const Plan& plan, const ckks::EvaluationKeys& keys)
    : world_(world), ctx_(std::move(ctx)), graph_(graph), plan_(plan), keys_(keys),
      buffers_(std::make_unique<Buffers>()) {
  if (world_.distributed()) buffers_->split = plan_split(graph_, plan_, world_.size());
}

SplitInference::~SplitInference() = default;

std::vector<ckks::Ciphertext> SplitInference::run(std::vector<ckks::Ciphertext> inputs, ExecReport* report,
                                                  std::vector<LayerExchange>* exchange, const RunOptions& options) {
  if (!world_.distributed()) return infer_encrypted(ctx_, graph_, plan_, keys_, std::move(inputs), report, options);
  distributed::World& world = world_;
  const ckks::Context* ctx = ctx_.get();
  Buffers& b = *buffers_;
  const int rank = world.rank(), ranks = world.size();
  const SplitPlan& split = b.split;
  std::map<int, LayerExchange> layers;
  for (std::size_t n = 0; n < split.layers.size(); ++n) {
    const SplitLayer& l = split.layers[n];
    LayerExchange e;
    e.node = static_cast<int>(n);
    e.mode = split_mode_name(l.mode);
    e.outputs = static_cast<int>(l.owner.size());
    for (int o : l.owner) e.computed_here += (o < 0 || o == rank) ? 1 : 0;
    e.inputs_here = -1;
    if (l.mode == SplitMode::inputs) {
      e.inputs_here = 0;
      for (int o : l.input_owner) e.inputs_here += o == rank ? 1 : 0;
    }
    layers[e.node] = e;
  }
  RunOptions o = options;
  o.rank = rank;
  o.ranks = ranks;
  auto thread_cpu = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  o.exchange = [&](int node, std::vector<CtParcel> outgoing) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu();
    const std::uint64_t sent0 = world.bytes_sent(), received0 = world.bytes_received();
    pack_parcels(outgoing, rank, ranks, *ctx, b.send_buf, b.send_counts);
    outgoing.clear();  // the partial sums' memory goes back before the receive buffer fills
    world.alltoallv(b.send_buf.data(), b.send_counts, b.recv_buf, b.recv_counts, b.recv_offsets);
    std::vector<CtParcel> received;
    for (int r = 0; r < ranks; ++r) {
      const auto k = static_cast<std::size_t>(r);
      if (r == rank || b.recv_counts[k] == 0) continue;
      auto got = unpack_parcels(std::span<const std::uint8_t>(b.recv_buf.data() + b.recv_offsets[k], b.recv_counts[k]),
                                r, *ctx, "layer " + std::to_string(node) + " ciphertexts from rank " + std::to_string(r));
      for (CtParcel& p : got) received.push_back(std::move(p));
    }
    LayerExchange& e = layers[node];
    e.bytes_sent += world.bytes_sent() - sent0;
    e.bytes_received += world.bytes_received() - received0;
    e.exchange_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    e.exchange_cpu_seconds += thread_cpu() - cpu0;
    return received;
  };
  auto out = infer_encrypted(ctx_, graph_, plan_, keys_, std::move(inputs), report, o);
  if (exchange)
    for (auto& [node, e] : layers) exchange->push_back(e);
  return out;
}

std::vector<ckks::Ciphertext> infer_encrypted_split(distributed::World& world,
                                                    std::shared_ptr<const ckks::Context> ctx, const Graph& graph,
                                                    const Plan& plan, const ckks::EvaluationKeys& keys,
                                                    std::vector<ckks::Ciphertext> inputs, ExecReport* report,
                                                    std::vector<LayerExchange>* exchange,
                                                    const RunOptions& options) {
  SplitInference split(world, std::move(ctx), graph, plan, keys);
  return split.run(std::move(inputs), report, exchange, options);
}

}  // namespace cryptounet::nn
