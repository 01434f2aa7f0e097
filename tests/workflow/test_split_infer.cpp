// Latency mode's split (he/exec/split_plan.h, RunOptions::ranks/exchange) without MPI: R threads,
// each one "process" of a split run over an in-memory exchange, on the real CKKS engine (small
// INSECURE N) with a U-Net of the bundled brain model's shape. Every thread ends with the
// one-process output, byte for byte, at R = 2, 3 and 4 (layers split by input or by rotation step
// with the reduce-scatter of partial sums); dropping one partial sum in the exchange changes
// the output (the check can fail). The exchange goes through latency mode's wire format
// (workflow/split_infer_wire.h), as World::alltoallv moves it; that format's reader is also fed
// broken bytes here. The mpirun runs of the CLI are in tests/apps/test_cli_mpi.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <set>
#include <barrier>
#include <thread>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/he/exec/split_plan.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "cryptounet/workflow/split_infer_wire.h"
#include "he/he_test_util.h"
#include "workflow/small_ckks_setup.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;

namespace {

using Bytes = std::vector<std::uint8_t>;

// R threads exchanging ciphertexts through mailboxes in latency mode's wire format (what
// World::alltoallv would move); box[from * R + to] holds the bytes, written by `from` only.
class Exchange {
 public:
  Exchange(int ranks, const ckks::Context& ctx)
      : ranks_(ranks), ctx_(ctx), box_(static_cast<std::size_t>(ranks * ranks)), sync_(ranks) {}
  std::vector<CtParcel> run(int rank, std::vector<CtParcel> out, bool drop_first_partial) {
    std::vector<CtParcel> kept;
    for (CtParcel& p : out)
      if (!(drop_first_partial && p.order > 0 && !dropped_.exchange(true))) kept.push_back(std::move(p));
    distributed::ExchangeBuffer buf;
    std::vector<std::uint64_t> counts;
    pack_parcels(kept, rank, ranks_, ctx_, buf, counts);
    std::uint64_t at = 0;
    for (int to = 0; to < ranks_; ++to) {
      box_[static_cast<std::size_t>(rank * ranks_ + to)].assign(buf.data() + at, buf.data() + at + counts[static_cast<std::size_t>(to)]);
      at += counts[static_cast<std::size_t>(to)];
    }
    sync_.arrive_and_wait();
    std::vector<CtParcel> in;
    for (int from = 0; from < ranks_; ++from) {
      auto& b = box_[static_cast<std::size_t>(from * ranks_ + rank)];
      for (CtParcel& p : unpack_parcels(b, from, ctx_, "from rank " + std::to_string(from))) in.push_back(std::move(p));
      b.clear();
    }
    sync_.arrive_and_wait();
    return in;
  }
  bool dropped() const { return dropped_; }
  // A rank that failed leaves the exchange (the others then fail or finish instead of waiting).
  void leave() { sync_.arrive_and_drop(); }

 private:
  int ranks_;
  const ckks::Context& ctx_;
  std::vector<Bytes> box_;
  std::barrier<> sync_;
  std::atomic<bool> dropped_{false};
};

struct Fixture : SplitInferSetup {
  Fixture() : SplitInferSetup(3) {}
  std::vector<Bytes> bytes(const std::vector<ckks::Ciphertext>& cts) const {
    std::vector<Bytes> out;
    for (const auto& ct : cts) out.push_back(ckks::save(ct, *ctx));
    return out;
  }
  // Every rank's output of a split run across `ranks` threads.
  std::vector<std::vector<Bytes>> split_run(int ranks, bool drop_first_partial = false,
                                            std::vector<std::string>* failures = nullptr) const {
    Exchange ex(ranks, *ctx);
    std::vector<std::vector<Bytes>> outs(static_cast<std::size_t>(ranks));
    std::vector<std::string> errors(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
      threads.emplace_back([&, r] {
        try {
          RunOptions o;
          o.rank = r;
          o.ranks = ranks;
          o.exchange = [&, r](int, std::vector<CtParcel> out) { return ex.run(r, std::move(out), drop_first_partial); };
          outs[static_cast<std::size_t>(r)] = bytes(infer_encrypted(ctx, g, plan, *evk, in, nullptr, o));
        } catch (const std::exception& e) {
          errors[static_cast<std::size_t>(r)] = e.what();
          ex.leave();
        }
      });
    for (auto& t : threads) t.join();
    if (failures)
      *failures = errors;
    else
      for (int r = 0; r < ranks; ++r) EXPECT_EQ(errors[static_cast<std::size_t>(r)], "") << "rank " << r;
    if (drop_first_partial) {
      EXPECT_TRUE(ex.dropped());
    }
    return outs;
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

}  // namespace

TEST(SplitInfer, PlanSplitsByInputWhereThereAreEnoughInputCiphertexts) {
  const Fixture& f = fixture();
  for (int ranks : {2, 3, 4}) {
    const SplitPlan sp = plan_split(f.g, f.plan, ranks);
    ASSERT_EQ(sp.layers.size(), f.g.nodes.size());
    int by_input = 0, by_step = 0;
    for (std::size_t n = 0; n < sp.layers.size(); ++n) {
      const SplitLayer& l = sp.layers[n];
      const Node& node = f.g.nodes[n];
      ASSERT_EQ(static_cast<int>(l.owner.size()), f.plan.layers[n].layout.team_size()) << node.name;
      if (node.kind == OpKind::Conv2d || node.kind == OpKind::ConvTranspose2d) {
        const int n_in = f.plan.layers[static_cast<std::size_t>(node.inputs[0])].layout.team_size();
        EXPECT_EQ(l.mode, n_in >= 2 * ranks ? SplitMode::inputs : SplitMode::steps) << node.name;
        if (l.mode == SplitMode::inputs) {
          ++by_input;
          ASSERT_EQ(static_cast<int>(l.input_owner.size()), n_in);
          for (int o : l.input_owner) EXPECT_TRUE(o >= 0 && o < ranks);
        } else {
          // Every step with a product has one owner; the steps are spread over the ranks.
          ++by_step;
          std::set<int> steps, owners;
          for (const LinearTerm& t : linear_op_for(f.g, f.plan, static_cast<int>(n)).terms)
            if (!row_products(t).empty()) steps.insert(t.in_step);
          ASSERT_EQ(l.step_owner.size(), steps.size()) << node.name;
          for (const auto& [s, o] : l.step_owner) {
            EXPECT_TRUE(steps.count(s)) << node.name << " step " << s;
            EXPECT_TRUE(o >= 0 && o < ranks) << node.name;
            owners.insert(o);
          }
          EXPECT_EQ(owners.size(), std::min<std::size_t>(steps.size(), static_cast<std::size_t>(ranks))) << node.name;
        }
        for (std::size_t j = 0; j < l.owner.size(); ++j) EXPECT_EQ(l.owner[j], static_cast<int>(j) % ranks);
      }
    }
    EXPECT_GT(by_input, 0) << ranks << " ranks: no layer split by input; the test would not cover the reduce";
    EXPECT_GT(by_step, 0) << ranks << " ranks: no layer split by step";
  }
  // The first layer has one input ciphertext: split by rotation step after nothing to gather (the
  // input is on every rank).
  const SplitPlan sp = plan_split(f.g, f.plan, 2);
  EXPECT_EQ(sp.layers[1].mode, SplitMode::steps);
  EXPECT_TRUE(sp.layers[1].whole_first.empty());
  // One process: nothing to split.
  for (const SplitLayer& l : plan_split(f.g, f.plan, 1).layers) EXPECT_NE(l.mode, SplitMode::steps);
}

TEST(SplitInfer, EveryRankEndsWithTheOneProcessOutputByteForByte) {
  const Fixture& f = fixture();
  const std::vector<Bytes> want = f.bytes(infer_encrypted(f.ctx, f.g, f.plan, *f.evk, f.in));
  for (int ranks : {2, 3, 4}) {
    const auto outs = f.split_run(ranks);
    for (int r = 0; r < ranks; ++r)
      EXPECT_TRUE(outs[static_cast<std::size_t>(r)] == want) << ranks << " ranks, rank " << r << " differs";
  }
}

TEST(SplitInfer, DroppingOnePartialSumChangesTheOutput) {
  const Fixture& f = fixture();
  const std::vector<Bytes> want = f.bytes(infer_encrypted(f.ctx, f.g, f.plan, *f.evk, f.in));
  std::vector<std::string> failures;
  const auto outs = f.split_run(2, /*drop_first_partial=*/true, &failures);
  // The owner of the dropped sum computes another output, or fails (an output with no product).
  bool changed = false;
  for (int r = 0; r < 2; ++r)
    changed = changed || !failures[static_cast<std::size_t>(r)].empty() || outs[static_cast<std::size_t>(r)] != want;
  EXPECT_TRUE(changed) << "a run missing a partial sum gave the one-process output";
}

TEST(SplitInfer, WireFormatRoundTripsAndRefusesBrokenBytes) {
  const Fixture& f = fixture();
  // Two parcels to rank 1 (of 3), one to rank 2, from rank 0.
  std::vector<CtParcel> out;
  out.push_back(CtParcel{1, 3, 5, 7, f.in[0]});
  out.push_back(CtParcel{2, 0, 0, 0, f.in[0]});
  out.push_back(CtParcel{1, 1, 2, 0, f.in[0]});
  distributed::ExchangeBuffer buf;
  std::vector<std::uint64_t> counts;
  pack_parcels(out, 0, 3, *f.ctx, buf, counts);
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0], 0u);
  EXPECT_EQ(counts[1], 4 + 2 * wire_bytes(f.in[0], *f.ctx));
  EXPECT_EQ(counts[2], 4 + wire_bytes(f.in[0], *f.ctx));
  const Bytes to1(buf.data(), buf.data() + counts[1]);
  const auto got = unpack_parcels(to1, 0, *f.ctx, "test");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].peer, 0);
  EXPECT_EQ(got[0].index, 3);
  EXPECT_EQ(got[0].step, 5);
  EXPECT_EQ(got[0].order, 7);
  EXPECT_EQ(got[1].index, 1);
  EXPECT_TRUE(ckks::save(got[0].ct, *f.ctx) == ckks::save(f.in[0], *f.ctx, {.seeded = false}));
  EXPECT_TRUE(ckks::save(got[1].ct, *f.ctx) == ckks::save(f.in[0], *f.ctx, {.seeded = false}));
  EXPECT_THROW(pack_parcels(out, 1, 3, *f.ctx, buf, counts), InvalidArgument);  // a parcel to itself

  auto refused = [&](Bytes b, const char* why) {
    try {
      (void)unpack_parcels(b, 0, *f.ctx, "from rank 0");
      ADD_FAILURE() << "accepted: " << why;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("from rank 0"), std::string::npos) << e.what();
    }
  };
  refused(Bytes(to1.begin(), to1.end() - 1), "one byte short");
  Bytes longer = to1;
  longer.push_back(0);
  refused(longer, "a trailing byte");
  refused(Bytes{2, 0, 0}, "a truncated count");
  Bytes many = to1;
  many[0] = 0xff, many[1] = 0xff;
  refused(many, "more ciphertexts than the bytes hold");
  // Header of the first ciphertext: count(4) index step order level parts (4 each) scale (8).
  Bytes level = to1;
  level[4 + 12] = 0xff;
  refused(level, "a level above the chain");
  Bytes parts = to1;
  parts[4 + 16] = 4;
  refused(parts, "4 parts");
  Bytes scale = to1;
  for (int k = 0; k < 8; ++k) scale[4 + 20 + k] = 0xff;  // NaN
  refused(scale, "a NaN scale");
  Bytes word = to1;
  for (int k = 0; k < 8; ++k) word[4 + 28 + k] = 0xff;  // the first residue word's bytes all 0xff: >= q_0
  refused(word, "a residue word above its modulus");
  // The last word of the first ciphertext (read with a short load), all its bytes 0xff.
  Bytes last = to1;
  const std::uint64_t q_top = f.ctx->modulus(static_cast<std::size_t>(f.in[0].level())).value();
  const std::size_t top_bytes = (std::bit_width(q_top - 1) + 7) / 8;
  for (std::size_t k = 1; k <= top_bytes; ++k) last[4 + wire_bytes(f.in[0], *f.ctx) - k] = 0xff;
  refused(last, "the last residue word above its modulus");
}
