// The distributed layer. In one process: the one-rank world and the work queue as a plain loop.
// Under real `mpirun --oversubscribe -np 2/3` (a probe program): every item computed exactly once
// and stored on rank 0, several ranks taking items, files broadcast to ranks that cannot read
// them, and failures (a rank killed, a rank throwing, a rank stopped) ending the run with a clear
// message within seconds instead of hanging. The mpirun cases skip, saying so, in a build without MPI.
#include "cryptounet/common/error.h"
#include "cryptounet/distributed/work_queue.h"
#include "cryptounet/distributed/world.h"
#include "mpi_run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace cryptounet::distributed {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(OneRankWorld, IsOneRankAndRunsTheQueueAsALoop) {
  World& w = World::get();
  EXPECT_EQ(w.rank(), 0);
  EXPECT_EQ(w.size(), 1);
  EXPECT_FALSE(w.distributed());
  EXPECT_EQ(w.shared_file("/no/such/file", 10), "/no/such/file");  // nothing to share with one rank
  EXPECT_EQ(w.broadcast({1, 2, 3}), (Bytes{1, 2, 3}));
  EXPECT_EQ(w.allgather({4, 5}), (std::vector<Bytes>{{4, 5}}));
  {
    const auto mem = w.host_shared_memory(3 << 20);  // one rank: its own mapping, zero-filled
    ASSERT_EQ(mem.size(), std::size_t{3} << 20);
    EXPECT_EQ(mem[0], 0);
    EXPECT_EQ(mem[mem.size() - 1], 0);
    mem[12345] = 7;
    EXPECT_EQ(mem[12345], 7);
    EXPECT_TRUE(w.host_shared_memory(0).empty());
  }
  std::vector<int> order;
  std::vector<Bytes> stored(5);
  const QueueStats s = run_work_queue(
      w, 5, [](std::size_t i) { return Bytes{static_cast<std::uint8_t>(i)}; },
      [&](std::size_t i, Bytes in) {
        order.push_back(static_cast<int>(i));
        return Bytes{static_cast<std::uint8_t>(in.at(0) * 2)};
      },
      [&](std::size_t i, Bytes r) { stored[i] = std::move(r); });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(stored[i], Bytes{static_cast<std::uint8_t>(2 * i)});
  ASSERT_EQ(s.items_per_rank.size(), 1u);
  EXPECT_EQ(s.items_per_rank[0], 5u);
  EXPECT_EQ(s.bytes_sent, 0u);
}

TEST(OneRankWorld, ErrorsPassThrough) {
  World& w = World::get();
  EXPECT_THROW(run_or_fail(w, [] { throw InvalidArgument("boom"); }), InvalidArgument);
  EXPECT_THROW((void)run_work_queue(
                   w, 2, [](std::size_t) { return Bytes{}; },
                   [](std::size_t, Bytes) -> Bytes { throw FormatError("bad item"); }, [](std::size_t, Bytes) {}),
               FormatError);
}

class MpiProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!mpi_test::available()) GTEST_SKIP() << mpi_test::skip_reason();
  }
  static std::string probe() { return CU_MPI_PROBE; }
};

TEST_F(MpiProbe, EveryItemOnceAcrossTwoAndThreeRanks) {
  for (int np : {2, 3}) {
    const auto r = mpi_test::mpirun(np, probe() + " queue 24");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("ok items=24 per-rank="));
    // Every rank took part (each item sleeps 30 ms, so no rank can take them all).
    const auto at = r.output.find("per-rank=");
    std::string counts = r.output.substr(at + 9, r.output.find('\n', at) - at - 9);
    int ranks = 0, total = 0;
    std::size_t pos = 0;
    while (pos <= counts.size()) {
      const std::size_t comma = std::min(counts.find(',', pos), counts.size());
      const int n = std::stoi(counts.substr(pos, comma - pos));
      EXPECT_GT(n, 0) << counts;
      total += n;
      ++ranks;
      pos = comma + 1;
    }
    EXPECT_EQ(ranks, np);
    EXPECT_EQ(total, 24);
  }
}

TEST_F(MpiProbe, MoreRanksThanItems) {
  const auto r = mpi_test::mpirun(3, probe() + " queue 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ok items=1"));
  const auto r0 = mpi_test::mpirun(2, probe() + " queue 0");
  ASSERT_EQ(r0.status, 0) << r0.output;
  EXPECT_THAT(r0.output, HasSubstr("ok items=0"));
}

TEST_F(MpiProbe, AllgatherOfDifferentSizes) {
  const auto r = mpi_test::mpirun(3, probe() + " gather");
  ASSERT_EQ(r.status, 0) << r.output;
  for (int rank = 0; rank < 3; ++rank) EXPECT_THAT(r.output, HasSubstr("rank " + std::to_string(rank) + ": gathered ok"));
}

TEST_F(MpiProbe, AlltoallOfDifferentSizesPerPair) {
  const auto r = mpi_test::mpirun(3, probe() + " alltoall");
  ASSERT_EQ(r.status, 0) << r.output;
  for (int rank = 0; rank < 3; ++rank) EXPECT_THAT(r.output, HasSubstr("rank " + std::to_string(rank) + ": alltoall ok"));
}

TEST_F(MpiProbe, HostSharedMemoryIsOneMemoryForTheRanksOfAHost) {
  const auto r = mpi_test::mpirun(3, probe() + " shm");
  ASSERT_EQ(r.status, 0) << r.output;
  for (int rank = 0; rank < 3; ++rank) EXPECT_THAT(r.output, HasSubstr("rank " + std::to_string(rank) + ": shared memory ok"));
  // The name is gone once every rank has mapped it: nothing is left in /dev/shm.
  for (const auto& e : fs::directory_iterator("/dev/shm"))
    EXPECT_EQ(e.path().filename().string().rfind("cryptounet-", 0), std::string::npos) << e.path();
}

TEST_F(MpiProbe, SharedFileIsBroadcastToRanksThatCannotReadIt) {
  const fs::path dir = fs::temp_directory_path() / ("cu_mpi_file_" + std::to_string(::getpid()));
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  {
    std::ofstream f(dir / "a" / "keys.bin", std::ios::binary);
    for (int i = 0; i < 300000; ++i) f.put(static_cast<char>(i * 7));
  }
  // Rank 0 starts in a/, ranks 1-2 in b/: the relative path exists for rank 0 only.
  auto r = mpi_test::mpirun_mpmd({{1, (dir / "a").string(), probe() + " file keys.bin"},
                                  {2, (dir / "b").string(), probe() + " file keys.bin"}});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("rank 0: 300000 bytes"));
  EXPECT_THAT(r.output, HasSubstr("own copy"));
  const auto sum_at = r.output.find("sum ");
  const std::string sum = r.output.substr(sum_at, r.output.find(',', sum_at) - sum_at);
  for (int rank : {1, 2})
    EXPECT_THAT(r.output, HasSubstr("rank " + std::to_string(rank) + ": 300000 bytes, " + sum + ", broadcast copy"));
  // A copy of another size on one host is refused (a stale key file), naming both sizes.
  {
    std::ofstream f(dir / "b" / "keys.bin", std::ios::binary);
    f << "stale";
  }
  r = mpi_test::mpirun_mpmd({{1, (dir / "a").string(), probe() + " file keys.bin"},
                             {1, (dir / "b").string(), probe() + " file keys.bin"}});
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("has 5 bytes, rank 0's copy"));
  EXPECT_THAT(r.output, HasSubstr("300000"));
  fs::remove_all(dir);
}

TEST_F(MpiProbe, RankThatThrowsEndsTheRunNamingRankAndItem) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = mpi_test::mpirun(3, probe() + " queue 30 throw 2 3");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_THAT(r.output, MatchesRegex("(.|\n)*error \\(rank 2 of 3 on [^)]+\\): item [0-9]+: injected failure(.|\n)*"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST_F(MpiProbe, RankKilledEndsTheRunWithoutHanging) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = mpi_test::mpirun(3, probe() + " queue 30 kill 1 2");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out (hang): " << r.output;
  // The launcher names the dead rank and its signal; the others say why they stop.
  EXPECT_THAT(r.output, HasSubstr("rank 1"));
  EXPECT_THAT(r.output, HasSubstr("signal 9"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST_F(MpiProbe, RankThatStopsAnsweringEndsTheRunAfterTheSilenceTimeout) {
  // SIGSTOP freezes rank 1 with its heartbeat thread: rank 0 notices the silence (2 s in the probe).
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = mpi_test::mpirun(2, probe() + " queue 30 stop 1 2");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out (hang): " << r.output;
  EXPECT_THAT(r.output, MatchesRegex("(.|\n)*rank 1 on [^ ]+ has been silent for [0-9]+ s while computing item(.|\n)*"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST_F(MpiProbe, RankThatHangsWithItsHeartbeatAliveEndsTheRunAfterTheItemTimeout) {
  // Rank 1 loops forever inside compute; its heartbeat keeps coming, so only the per-item limit
  // (3 s in the probe) catches it. Rank 0 hanging on its own item is caught the same way.
  for (int rank : {1, 0}) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = mpi_test::mpirun(2, probe() + " queue 30 hang " + std::to_string(rank) + " 2");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.status, 124) << "timed out (hang): " << r.output;
    EXPECT_THAT(r.output, MatchesRegex("(.|\n)*rank " + std::to_string(rank) +
                                       " on [^ ]+ has been computing item [0-9]+ for [0-9]+ s, longer than the "
                                       "per-item limit(.|\n)*"));
    EXPECT_THAT(r.output, Not(HasSubstr("has been silent")));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
  }
}

}  // namespace
}  // namespace cryptounet::distributed
