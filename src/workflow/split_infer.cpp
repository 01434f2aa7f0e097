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

std::vector<ckks::Ciphertext> infer_encrypted_split(distributed::World& world,
                                                    std::shared_ptr<const ckks::Context> ctx, const Graph& graph,
                                                    const Plan& plan, const ckks::EvaluationKeys& keys,
                                                    std::vector<ckks::Ciphertext> inputs, ExecReport* report,
                                                    std::vector<LayerExchange>* exchange,
                                                    const RunOptions& options) {
  if (!world.distributed()) return infer_encrypted(ctx, graph, plan, keys, std::move(inputs), report, options);
  const int rank = world.rank(), ranks = world.size();
  const SplitPlan split = plan_split(graph, plan, ranks);
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
  // Kept across the layers' exchanges: fresh pages only when an exchange is the largest so far.
  distributed::ExchangeBuffer send_buf, recv_buf;
  std::vector<std::uint64_t> send_counts, recv_counts, recv_offsets;
  o.exchange = [&](int node, std::vector<CtParcel> outgoing) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu();
    const std::uint64_t sent0 = world.bytes_sent(), received0 = world.bytes_received();
    pack_parcels(outgoing, rank, ranks, *ctx, send_buf, send_counts);
    outgoing.clear();  // the partial sums' memory goes back before the receive buffer fills
    world.alltoallv(send_buf.data(), send_counts, recv_buf, recv_counts, recv_offsets);
    std::vector<CtParcel> received;
    for (int r = 0; r < ranks; ++r) {
      const auto k = static_cast<std::size_t>(r);
      if (r == rank || recv_counts[k] == 0) continue;
      auto got = unpack_parcels(std::span<const std::uint8_t>(recv_buf.data() + recv_offsets[k], recv_counts[k]), r,
                                *ctx, "layer " + std::to_string(node) + " ciphertexts from rank " + std::to_string(r));
      for (CtParcel& p : got) received.push_back(std::move(p));
    }
    LayerExchange& e = layers[node];
    e.bytes_sent += world.bytes_sent() - sent0;
    e.bytes_received += world.bytes_received() - received0;
    e.exchange_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    e.exchange_cpu_seconds += thread_cpu() - cpu0;
    return received;
  };
  auto out = infer_encrypted(ctx, graph, plan, keys, std::move(inputs), report, o);
  if (exchange)
    for (auto& [node, e] : layers) exchange->push_back(e);
  return out;
}

}  // namespace cryptounet::nn
