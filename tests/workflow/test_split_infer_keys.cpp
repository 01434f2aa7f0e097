// The filtered evaluation-key load behind latency mode's shared key loading (workflow/shared_keys.h:
// each MPI rank expands every R-th Galois key and receives the others): a filtered load holds
// exactly the selected keys, word for word as a whole load, names the ones it read past, and a run
// that needs a key left out fails with a clear error; the union of the ranks' shares gives the
// whole load's outputs byte for byte. Small INSECURE parameters (N = 2^10). The mpirun runs of
// the shared load itself are in tests/apps/test_cli_mpi.cpp (outputs compared with one process).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/common/file_io.h"
#include "cryptounet/distributed/world.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "cryptounet/workflow/shared_keys.h"
#include "he/he_test_util.h"
#include "workflow/small_ckks_setup.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

bool same_poly(const math::RnsPoly& a, const math::RnsPoly& b) {
  return a.n() == b.n() && a.limbs() == b.limbs() &&
         std::memcmp(a.data(), b.data(), a.n() * a.limbs() * sizeof(std::uint64_t)) == 0;
}

bool same_key(const ckks::KeySwitchKey& a, const ckks::KeySwitchKey& b) {
  if (a.b.size() != b.b.size() || a.a.size() != b.a.size() || a.fingerprint != b.fingerprint) return false;
  for (std::size_t j = 0; j < a.b.size(); ++j)
    if (!same_poly(a.b[j], b.b[j]) || !same_poly(a.a[j], b.a[j])) return false;
  return true;
}

struct KeyFixture : SplitInferSetup {
  fs::path dir;
  std::string keys_path;
  KeyFixture() : SplitInferSetup(5) {
    dir = fs::temp_directory_path() / ("cu-split-keys-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    keys_path = (dir / "eval.keys").string();
    ckks::save_file(keys_path, ckks::save(*evk, *ctx));
  }
  ~KeyFixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::vector<Bytes> run(const ckks::EvaluationKeys& keys) const {
    std::vector<Bytes> out;
    for (const auto& ct : infer_encrypted(ctx, g, plan, keys, in)) out.push_back(ckks::save(ct, *ctx));
    return out;
  }
};

const KeyFixture& fixture() {
  static const KeyFixture f;
  return f;
}

// Rank `rank`'s share of R (shared_keys.cpp: Galois key k goes to rank k mod R), no relin key.
ckks::EvaluationKeys share(const KeyFixture& f, std::size_t rank, std::size_t ranks,
                           std::vector<std::uint64_t>* skipped) {
  ckks::KeySelection s;
  s.relin = rank == 0;
  s.galois = [=](std::size_t index, std::uint64_t) { return index % ranks == rank; };
  return ckks::load_evaluation_keys_file(f.keys_path, *f.ctx, ckks::kDefaultMaxFileBytes, s, skipped);
}

std::size_t fixture_key_count(const KeyFixture& f) {
  return ckks::load_evaluation_keys_file(f.keys_path, *f.ctx).galois.keys.size();
}

}  // namespace

TEST(SplitInferKeys, FilteredLoadHoldsExactlyTheSelectedKeysAsTheWholeLoad) {
  const KeyFixture& f = fixture();
  const ckks::EvaluationKeys whole = ckks::load_evaluation_keys_file(f.keys_path, *f.ctx);
  ASSERT_GE(whole.galois.keys.size(), 4u) << "the fixture's plan should need several rotation keys";
  std::vector<std::uint64_t> elements;
  for (const auto& [g, k] : whole.galois.keys) elements.push_back(g);
  for (std::size_t ranks : {2u, 3u}) {
    std::size_t total = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      std::vector<std::uint64_t> skipped;
      const ckks::EvaluationKeys part = share(f, r, ranks, &skipped);
      EXPECT_EQ(part.relin.empty(), r != 0);
      if (r == 0) {
        EXPECT_TRUE(same_key(part.relin.key, whole.relin.key));
      }
      EXPECT_EQ(part.galois.keys.size() + skipped.size(), elements.size());
      for (std::size_t i = 0; i < elements.size(); ++i) {
        const ckks::KeySwitchKey* k = part.galois.find(elements[i]);
        if (i % ranks == r) {
          ASSERT_NE(k, nullptr) << "key " << i << " of rank " << r;
          EXPECT_TRUE(same_key(*k, whole.galois.keys.at(elements[i]))) << "key " << i;
        } else {
          EXPECT_EQ(k, nullptr) << "key " << i << " should have been read past on rank " << r;
          EXPECT_NE(std::find(skipped.begin(), skipped.end(), elements[i]), skipped.end());
        }
      }
      total += part.galois.keys.size();
    }
    EXPECT_EQ(total, elements.size());
  }
  // An empty selection predicate keeps every key (the plain load).
  const ckks::EvaluationKeys all = ckks::load_evaluation_keys_file(f.keys_path, *f.ctx, ckks::kDefaultMaxFileBytes,
                                                                   ckks::KeySelection{});
  EXPECT_EQ(all.galois.keys.size(), elements.size());
}

TEST(SplitInferKeys, ARunNeedingAKeyLeftOutFailsClearly) {
  const KeyFixture& f = fixture();
  std::vector<std::uint64_t> skipped;
  ckks::EvaluationKeys part = share(f, 0, 2, &skipped);
  part.relin = ckks::load_evaluation_keys_file(f.keys_path, *f.ctx).relin;
  ASSERT_FALSE(skipped.empty());
  try {
    (void)f.run(part);
    FAIL() << "a run with half of the Galois keys succeeded";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("no Galois key for"), std::string::npos) << e.what();
  }
}

TEST(SplitInferKeys, TheRanksSharesTogetherGiveTheWholeLoadsOutputs) {
  const KeyFixture& f = fixture();
  const std::vector<Bytes> want = f.run(ckks::load_evaluation_keys_file(f.keys_path, *f.ctx));
  ckks::EvaluationKeys merged = share(f, 0, 3, nullptr);
  for (std::size_t r = 1; r < 3; ++r)
    for (auto& [g, k] : share(f, r, 3, nullptr).galois.keys) merged.galois.keys.emplace(g, std::move(k));
  EXPECT_EQ(f.run(merged), want);
  // One process: the shared load is the whole load.
  distributed::World& world = distributed::World::get();
  ASSERT_FALSE(world.distributed());
  SharedKeysReport report;
  const ckks::EvaluationKeys one = load_evaluation_keys_shared(world, f.keys_path, *f.ctx, ckks::kDefaultMaxFileBytes,
                                                               &report);
  EXPECT_EQ(report.expanded_here, one.galois.keys.size());
  EXPECT_EQ(report.received, 0u);
  EXPECT_EQ(f.run(one), want);
}

TEST(SplitInferKeys, AMalformedKeyIsRefusedAlsoByTheShareThatReadsPastIt) {
  const KeyFixture& f = fixture();
  Bytes bytes = read_file(f.keys_path, ckks::kDefaultMaxFileBytes);
  // Key 1's "seeded" flag (after the header, the relin key, the count and key 0, then its element).
  const std::size_t key0 = ckks::evaluation_keys_file_size(*f.ctx, true, 0);
  const std::size_t per_key = ckks::evaluation_keys_file_size(*f.ctx, true, 1) - key0;
  ASSERT_EQ(ckks::evaluation_keys_file_size(*f.ctx, true, fixture_key_count(f)), bytes.size());
  const std::size_t flag = key0 + per_key + 8;
  ASSERT_EQ(bytes[flag], 1);
  bytes[flag] = 2;
  const std::string bad = (f.dir / "bad.keys").string();
  ckks::save_file(bad, bytes);
  for (std::size_t r = 0; r < 2; ++r) {
    ckks::KeySelection s;
    s.galois = [=](std::size_t index, std::uint64_t) { return index % 2 == r; };
    try {
      (void)ckks::load_evaluation_keys_file(bad, *f.ctx, ckks::kDefaultMaxFileBytes, s);
      ADD_FAILURE() << "share " << r << " accepted a key with seeded flag 2";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("seeded flag is 2"), std::string::npos) << e.what();
    }
  }
  // A file cut short is refused whatever the selection.
  bytes.resize(bytes.size() - 100);
  const std::string cut = (f.dir / "cut.keys").string();
  ckks::save_file(cut, bytes);
  ckks::KeySelection none;
  none.relin = false;
  none.galois = [](std::size_t, std::uint64_t) { return false; };
  EXPECT_THROW((void)ckks::load_evaluation_keys_file(cut, *f.ctx, ckks::kDefaultMaxFileBytes, none), FormatError);
}
