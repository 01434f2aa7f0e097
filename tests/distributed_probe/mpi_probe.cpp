// A small program run under mpirun by tests/distributed: exercises the work queue, broadcasts and
// shared files across real MPI ranks, and injects failures (a rank killed, a rank throwing, a rank
// stopped) so the tests can check that a run ends with a clear message instead of hanging.
//
//   mpi_probe queue COUNT [kill|throw|stop RANK ITEM]   prints "ok items=N per-rank=a,b,..." on rank 0
//   mpi_probe file PATH                                 each rank prints "rank r: N bytes, sum S"
//   mpi_probe gather                                    each rank prints "rank r: gathered ok" (sizes differ per rank)
#include "cryptounet/common/binary_io.h"
#include "cryptounet/distributed/work_queue.h"
#include "cryptounet/distributed/world.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>
#include <thread>

using namespace cryptounet;
using distributed::Bytes;

namespace {

Bytes item_input(std::size_t i) {
  Bytes b(1000 + 37 * i);
  for (std::size_t k = 0; k < b.size(); ++k) b[k] = static_cast<std::uint8_t>(i * 131 + k * 7);
  return b;
}

Bytes item_result(std::size_t i, const Bytes& in) {
  Bytes out(in.size() / 2 + 3);
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<std::uint8_t>(in[k % in.size()] * 3 + i);
  return out;
}

int queue(distributed::World& world, int argc, char** argv) {
  const std::size_t count = std::strtoul(argv[2], nullptr, 10);
  const std::string fail = argc > 3 ? argv[3] : "none";
  const int fail_rank = argc > 4 ? std::atoi(argv[4]) : -1;
  const std::size_t fail_item = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 0;
  std::vector<Bytes> results(count);
  distributed::QueueOptions opt;
  opt.heartbeat_s = 0.2;
  opt.silence_timeout_s = 2.0;
  opt.item_timeout_s = fail == "hang" ? 3.0 : 0.0;
  const auto stats = distributed::run_work_queue(
      world, count, [](std::size_t i) { return item_input(i); },
      [&](std::size_t i, Bytes in) {
        if (world.rank() == fail_rank && i >= fail_item) {
          if (fail == "kill") ::raise(SIGKILL);
          if (fail == "throw") throw std::runtime_error("injected failure");
          if (fail == "stop") ::raise(SIGSTOP);
          if (fail == "hang")  // computes forever, its heartbeat thread alive
            for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        return item_result(i, in);
      },
      [&](std::size_t i, Bytes r) { results[i] = std::move(r); }, opt);
  if (world.rank() != 0) return 0;
  for (std::size_t i = 0; i < count; ++i)
    if (results[i] != item_result(i, item_input(i))) {
      std::printf("bad result for item %zu\n", i);
      return 1;
    }
  std::printf("ok items=%zu per-rank=", count);
  for (std::size_t r = 0; r < stats.items_per_rank.size(); ++r)
    std::printf("%s%zu", r ? "," : "", stats.items_per_rank[r]);
  std::printf("\n");
  return 0;
}

int file(distributed::World& world, const char* path) {
  const std::string local = world.shared_file(path, 1 << 26);
  const Bytes b = read_file(local, 1 << 26);
  unsigned long long sum = 0;
  for (auto v : b) sum = sum * 31 + v;
  std::printf("rank %d: %zu bytes, sum %llu, %s\n", world.rank(), b.size(), sum,
              local == path ? "own copy" : "broadcast copy");
  std::fflush(stdout);
  world.barrier();
  return 0;
}

Bytes gather_bytes(int rank) {
  Bytes b(static_cast<std::size_t>(rank) * 100000 + 3);  // rank 0 sends 3 bytes
  for (std::size_t k = 0; k < b.size(); ++k) b[k] = static_cast<std::uint8_t>(k * 13 + rank);
  return b;
}

int gather(distributed::World& world) {
  for (int round = 0; round < 3; ++round) {
    const auto all = world.allgather(gather_bytes(world.rank()));
    if (static_cast<int>(all.size()) != world.size()) return 1;
    for (int r = 0; r < world.size(); ++r)
      if (all[static_cast<std::size_t>(r)] != gather_bytes(r)) {
        std::printf("rank %d: round %d: bytes of rank %d differ\n", world.rank(), round, r);
        return 1;
      }
  }
  std::printf("rank %d: gathered ok\n", world.rank());
  return 0;
}

// Rank `from`'s bytes for rank `to`: sizes differ per pair, some are empty (to == from + 1).
Bytes pair_bytes(int from, int to) {
  Bytes b(to == from + 1 ? 0 : static_cast<std::size_t>(from) * 70000 + static_cast<std::size_t>(to) * 11 + 1);
  for (std::size_t k = 0; k < b.size(); ++k) b[k] = static_cast<std::uint8_t>(k * 7 + from * 31 + to);
  return b;
}

int alltoall(distributed::World& world) {
  for (int round = 0; round < 3; ++round) {
    std::vector<Bytes> to;
    for (int r = 0; r < world.size(); ++r) to.push_back(pair_bytes(world.rank(), r));
    const auto got = world.alltoall(to);
    if (static_cast<int>(got.size()) != world.size()) return 1;
    for (int r = 0; r < world.size(); ++r)
      if (got[static_cast<std::size_t>(r)] != pair_bytes(r, world.rank())) {
        std::printf("rank %d: round %d: bytes from rank %d differ\n", world.rank(), round, r);
        return 1;
      }
  }
  std::printf("rank %d: alltoall ok\n", world.rank());
  return 0;
}

// Host-shared memory: each rank writes its own 4 KiB page, and after a barrier every rank sees
// every rank's page (all ranks of this test run on one host), zero-filled past them.
int shm(distributed::World& world) {
  constexpr std::size_t kPage = 4096;
  const auto mem = world.host_shared_memory(kPage * static_cast<std::size_t>(world.size() + 1));
  std::memset(mem.data() + kPage * static_cast<std::size_t>(world.rank()), 10 + world.rank(), kPage);
  world.barrier();
  for (int r = 0; r < world.size(); ++r)
    for (std::size_t k = 0; k < kPage; ++k)
      if (mem[kPage * static_cast<std::size_t>(r) + k] != 10 + r) {
        std::printf("rank %d: byte %zu of rank %d's page is %d\n", world.rank(), k, r, mem[kPage * static_cast<std::size_t>(r) + k]);
        return 1;
      }
  for (std::size_t k = 0; k < kPage; ++k)
    if (mem[kPage * static_cast<std::size_t>(world.size()) + k] != 0) return 1;
  world.barrier();
  std::printf("rank %d: shared memory ok\n", world.rank());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  distributed::World& world = distributed::World::get();
  int rc = 2;
  distributed::run_or_fail(world, [&] {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "queue" && argc > 2) rc = queue(world, argc, argv);
    else if (mode == "file" && argc > 2) rc = file(world, argv[2]);
    else if (mode == "gather") rc = gather(world);
    else if (mode == "alltoall") rc = alltoall(world);
    else if (mode == "shm") rc = shm(world);
    else std::fprintf(stderr, "usage: mpi_probe queue COUNT [kill|throw|stop|hang RANK ITEM] | file PATH | gather | alltoall | shm\n");
  });
  return rc;
}
