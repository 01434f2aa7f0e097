#include "cryptounet/workflow/split_infer.h"

#include <chrono>

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
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
  RunOptions o = options;
  o.computes = [rank, ranks](int, int index, int) { return index % ranks == rank; };
  o.gather = [&](int node, std::vector<ckks::Ciphertext>& cts) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t sent0 = world.bytes_sent(), received0 = world.bytes_received();
    // Mine: u32 count, then per ciphertext u32 index, u64 bytes, the ciphertext.
    BinaryWriter w;
    std::uint32_t count = 0;
    for (std::size_t j = static_cast<std::size_t>(rank); j < cts.size(); j += static_cast<std::size_t>(ranks)) ++count;
    w.u32(count);
    for (std::size_t j = static_cast<std::size_t>(rank); j < cts.size(); j += static_cast<std::size_t>(ranks)) {
      const std::vector<std::uint8_t> b = ckks::save(cts[j], *ctx);
      w.u32(static_cast<std::uint32_t>(j));
      w.u64(b.size());
      w.raw(b);
    }
    const std::vector<std::vector<std::uint8_t>> all = world.allgather(w.take());
    for (int r = 0; r < ranks; ++r) {
      if (r == rank) continue;
      const auto& bytes = all[static_cast<std::size_t>(r)];
      BinaryReader rd(bytes, "layer " + std::to_string(node) + " outputs from rank " + std::to_string(r));
      const std::uint32_t n = rd.u32();
      for (std::uint32_t k = 0; k < n; ++k) {
        const std::uint32_t j = rd.u32();
        const std::uint64_t len = rd.u64();
        if (j >= cts.size() || static_cast<int>(j % static_cast<std::uint32_t>(ranks)) != r)
          throw FormatError("rank " + std::to_string(r) + " sent output " + std::to_string(j) + " of layer " +
                            std::to_string(node) + ", which is not its own");
        if (len > rd.remaining())
          throw FormatError("layer " + std::to_string(node) + " outputs from rank " + std::to_string(r) + ": truncated");
        const std::span<const std::uint8_t> ct = rd.raw(static_cast<std::size_t>(len));
        cts[j] = ckks::load_ciphertext(ct, *ctx);
      }
      if (rd.remaining() != 0)
        throw FormatError("layer " + std::to_string(node) + " outputs from rank " + std::to_string(r) + ": trailing bytes");
    }
    if (exchange) {
      LayerExchange e;
      e.node = node;
      e.outputs = static_cast<int>(cts.size());
      e.computed_here = static_cast<int>(count);
      e.bytes_sent = world.bytes_sent() - sent0;
      e.bytes_received = world.bytes_received() - received0;
      e.gather_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      exchange->push_back(e);
    }
  };
  return infer_encrypted(ctx, graph, plan, keys, std::move(inputs), report, o);
}

}  // namespace cryptounet::nn
