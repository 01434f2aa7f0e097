// Latency mode's split (he/exec/split_plan.h, RunOptions::ranks/exchange) without MPI: R threads,
// each one "process" of a split run over an in-memory exchange, on the real CKKS engine (small
// INSECURE N) with a U-Net of the bundled brain model's shape. Every thread ends with the
// one-process output, byte for byte, at R = 2, 3 and 4 (layers split by input with the
// reduce-scatter of partial sums, and by output); dropping one partial sum in the exchange changes
// the output (the check can fail). The mpirun runs of the CLI are in tests/apps/test_cli_mpi.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/he/exec/split_plan.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;

namespace {

using Bytes = std::vector<std::uint8_t>;

// R threads exchanging ciphertexts through mailboxes; box[from * R + to], written by `from` only.
class Exchange {
 public:
  explicit Exchange(int ranks) : ranks_(ranks), box_(static_cast<std::size_t>(ranks * ranks)), sync_(ranks) {}
  std::vector<CtParcel> run(int rank, std::vector<CtParcel> out, bool drop_first_partial) {
    for (CtParcel& p : out) {
      if (drop_first_partial && p.order > 0 && !dropped_.exchange(true)) continue;
      const int to = p.peer;
      p.peer = rank;
      box_[static_cast<std::size_t>(rank * ranks_ + to)].push_back(std::move(p));
    }
    sync_.arrive_and_wait();
    std::vector<CtParcel> in;
    for (int from = 0; from < ranks_; ++from) {
      auto& b = box_[static_cast<std::size_t>(from * ranks_ + rank)];
      for (CtParcel& p : b) in.push_back(std::move(p));
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
  std::vector<std::vector<CtParcel>> box_;
  std::barrier<> sync_;
  std::atomic<bool> dropped_{false};
};

struct Fixture {
  Graph g = brain_unet(7, 16, 4);
  Plan plan;
  std::shared_ptr<const ckks::Context> ctx;
  std::unique_ptr<ckks::EvaluationKeys> evk;
  std::vector<ckks::Ciphertext> in;
  Fixture() {
    PlanOptions o;
    o.log_n = 10;
    o.insecure_for_tests = true;
    plan = make_plan(g, o);
    ctx = ckks::Context::create(plan_params(plan), ExecOptions{.threads = 1});
    ckks::KeyGenerator kg(ctx);
    const ckks::SecretKey sk = kg.secret_key();
    evk = std::make_unique<ckks::EvaluationKeys>(make_evaluation_keys(ctx, sk, plan));
    GraphBuilder b(3);
    in = encrypt_inputs(ctx, sk, plan, {b.random_input(g.input_shape())});
  }
  std::vector<Bytes> bytes(const std::vector<ckks::Ciphertext>& cts) const {
    std::vector<Bytes> out;
    for (const auto& ct : cts) out.push_back(ckks::save(ct, *ctx));
    return out;
  }
  // Every rank's output of a split run across `ranks` threads.
  std::vector<std::vector<Bytes>> split_run(int ranks, bool drop_first_partial = false,
                                            std::vector<std::string>* failures = nullptr) const {
    Exchange ex(ranks);
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
    int by_input = 0;
    for (std::size_t n = 0; n < sp.layers.size(); ++n) {
      const SplitLayer& l = sp.layers[n];
      const Node& node = f.g.nodes[n];
      ASSERT_EQ(static_cast<int>(l.owner.size()), f.plan.layers[n].layout.team_size()) << node.name;
      if (node.kind == OpKind::Conv2d || node.kind == OpKind::ConvTranspose2d) {
        const int n_in = f.plan.layers[static_cast<std::size_t>(node.inputs[0])].layout.team_size();
        EXPECT_EQ(l.mode, n_in >= ranks ? SplitMode::inputs : SplitMode::outputs) << node.name;
        if (l.mode == SplitMode::inputs) {
          ++by_input;
          ASSERT_EQ(static_cast<int>(l.input_owner.size()), n_in);
          for (int o : l.input_owner) EXPECT_TRUE(o >= 0 && o < ranks);
        }
        for (std::size_t j = 0; j < l.owner.size(); ++j) EXPECT_EQ(l.owner[j], static_cast<int>(j) % ranks);
      }
    }
    EXPECT_GT(by_input, 0) << ranks << " ranks: no layer split by input; the test would not cover the reduce";
  }
  // The first layer has one input ciphertext: split by output after nothing to gather (the input is
  // on every rank).
  const SplitPlan sp = plan_split(f.g, f.plan, 2);
  EXPECT_EQ(sp.layers[1].mode, SplitMode::outputs);
  EXPECT_TRUE(sp.layers[1].whole_first.empty());
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
