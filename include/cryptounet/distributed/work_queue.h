// A dynamic work queue over the ranks of a World: rank 0 hands the next item to whichever rank
// asks first, so a rank that finishes early takes more (slices of a volume, encrypted inputs of a
// batch). Rank 0 alone does the file I/O (load and store); every rank, rank 0 included, computes.
//
// Failure: an exception on any rank ends the job with a message naming the rank and the item
// (World::fail); a rank that dies is reported by the MPI launcher, which stops the others; a rank
// that stops answering (its heartbeat is silent for `silence_timeout_s`) ends the job from rank 0, and
// so does one that computes an item longer than `item_timeout_s` (a hang with its heartbeat alive).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cryptounet/distributed/world.h"

namespace cryptounet::distributed {

using Bytes = std::vector<std::uint8_t>;

struct QueueOptions {
  /// Seconds between a computing rank's "still alive" messages to rank 0.
  double heartbeat_s = 2.0;
  /// Rank 0 ends the run when a rank holding an item has been silent this long.
  double silence_timeout_s = 300.0;
  /// Rank 0 ends the run when one item has been computing this long on any rank (rank 0's own
  /// included), even with its heartbeat alive (a computation that hangs). 0: the environment's
  /// CU_MPI_ITEM_TIMEOUT_S (seconds) when set, else no limit.
  double item_timeout_s = 0.0;
  /// Called on rank 0 after each stored item: (items done, items in all).
  std::function<void(std::size_t done, std::size_t count)> progress;
};

struct QueueStats {
  double wall_s = 0;
  /// Rank 0 only (zeros elsewhere): items each rank computed, and its seconds computing them.
  std::vector<std::size_t> items_per_rank;
  std::vector<double> busy_s_per_rank;
  /// Bytes this rank sent and received through the queue.
  std::uint64_t bytes_sent = 0, bytes_received = 0;
};

/// Runs items 0..count-1. On rank 0, `load(i)` gives item i's input and `store(i, result)` takes its
/// result (both on rank 0 only, from one thread, `store` in completion order); `compute(i, input)`
/// runs on every rank. Collective: every rank calls it with the same `count`. In a one-rank world it
/// is a plain loop. Returns after every item is stored (rank 0) or after rank 0 has no more work
/// (other ranks); ends with a barrier.
QueueStats run_work_queue(World& world, std::size_t count, const std::function<Bytes(std::size_t)>& load,
                          const std::function<Bytes(std::size_t, Bytes)>& compute,
                          const std::function<void(std::size_t, Bytes)>& store, const QueueOptions& options = {});

}  // namespace cryptounet::distributed
