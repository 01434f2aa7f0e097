#include "cryptounet/workflow/split_infer.h"

#include <time.h>

#include <chrono>
#include <map>

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/exec/split_plan.h"
#include "cryptounet/workflow/server_infer.h"

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
  o.exchange = [&](int node, std::vector<CtParcel> outgoing) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu();
    const std::uint64_t sent0 = world.bytes_sent(), received0 = world.bytes_received();
    // Per destination: u32 count, then per ciphertext i32 index, step, order, u64 bytes, the ciphertext.
    std::vector<BinaryWriter> w(static_cast<std::size_t>(ranks));
    std::vector<std::uint32_t> count(static_cast<std::size_t>(ranks), 0);
    for (const CtParcel& p : outgoing) {
      if (p.peer < 0 || p.peer >= ranks || p.peer == rank)
        throw InvalidArgument("split run: a ciphertext for process " + std::to_string(p.peer));
      ++count[static_cast<std::size_t>(p.peer)];
    }
    for (int r = 0; r < ranks; ++r) w[static_cast<std::size_t>(r)].u32(count[static_cast<std::size_t>(r)]);
    for (CtParcel& p : outgoing) {
      const std::vector<std::uint8_t> b = ckks::save(p.ct, *ctx);
      p.ct = {};
      BinaryWriter& to = w[static_cast<std::size_t>(p.peer)];
      to.u32(static_cast<std::uint32_t>(p.index));
      to.u32(static_cast<std::uint32_t>(p.step));
      to.u32(static_cast<std::uint32_t>(p.order));
      to.u64(b.size());
      to.raw(b);
    }
    outgoing.clear();
    std::vector<std::vector<std::uint8_t>> bufs;
    for (auto& x : w) bufs.push_back(x.take());
    bufs[static_cast<std::size_t>(rank)].clear();
    const std::vector<std::vector<std::uint8_t>> all = world.alltoall(bufs);
    std::vector<CtParcel> received;
    for (int r = 0; r < ranks; ++r) {
      if (r == rank) continue;
      const auto& bytes = all[static_cast<std::size_t>(r)];
      const std::string what = "layer " + std::to_string(node) + " ciphertexts from rank " + std::to_string(r);
      BinaryReader rd(bytes, what);
      const std::uint32_t n = rd.u32();
      for (std::uint32_t k = 0; k < n; ++k) {
        CtParcel p;
        p.peer = r;
        p.index = static_cast<int>(rd.u32());
        p.step = static_cast<int>(rd.u32());
        p.order = static_cast<int>(rd.u32());
        const std::uint64_t len = rd.u64();
        if (len > rd.remaining()) throw FormatError(what + ": truncated");
        p.ct = ckks::load_ciphertext(rd.raw(static_cast<std::size_t>(len)), *ctx);
        received.push_back(std::move(p));
      }
      if (rd.remaining() != 0) throw FormatError(what + ": trailing bytes");
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
