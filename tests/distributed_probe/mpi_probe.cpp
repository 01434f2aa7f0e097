// A small program run under mpirun by tests/distributed: exercises the work queue, broadcasts and
// shared files across real MPI ranks, and injects failures (a rank killed, a rank throwing, a rank
// stopped) so the tests can check that a run ends with a clear message instead of hanging.
//
//   mpi_probe queue COUNT [kill|throw|stop RANK ITEM]   prints "ok items=N per-rank=a,b,..." on rank 0
//   mpi_probe file PATH                                 each rank prints "rank r: N bytes, sum S"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/distributed/work_queue.h"
#include "cryptounet/distributed/world.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
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
  const auto stats = distributed::run_work_queue(
      world, count, [](std::size_t i) { return item_input(i); },
      [&](std::size_t i, Bytes in) {
        if (world.rank() == fail_rank && i >= fail_item) {
          if (fail == "kill") ::raise(SIGKILL);
          if (fail == "throw") throw std::runtime_error("injected failure");
          if (fail == "stop") ::raise(SIGSTOP);
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

}  // namespace

int main(int argc, char** argv) {
  distributed::World& world = distributed::World::get();
  int rc = 2;
  distributed::run_or_fail(world, [&] {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "queue" && argc > 2) rc = queue(world, argc, argv);
    else if (mode == "file" && argc > 2) rc = file(world, argv[2]);
    else std::fprintf(stderr, "usage: mpi_probe queue COUNT [kill|throw|stop RANK ITEM] | file PATH\n");
  });
  return rc;
}
