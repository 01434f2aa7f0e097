// The ranks of one run: this process's rank and the number of ranks, broadcasts, a barrier that
// does not spin, and failure that ends every rank with a clear message. Started by an MPI launcher
// (`mpirun -np R cryptounet ...`, Slurm's srun) the ranks are MPI processes; started plainly, or in
// a build without MPI (-DCU_MPI=OFF), the world is one rank and every call is a local no-op.
//
// MPI stays private to this layer (no <mpi.h> here). Errors of MPI calls come back as IoError
// (MPI_ERRORS_RETURN on MPI_COMM_WORLD), never as a silent MPI abort.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cryptounet/distributed/exchange_buffer.h"

namespace cryptounet::distributed {

/// True when this build has MPI (CU_MPI=ON).
[[nodiscard]] bool built_with_mpi();

/// The number of ranks the launcher's environment announces (OMPI_COMM_WORLD_SIZE, PMIX_SIZE,
/// PMI_SIZE, SLURM_NTASKS under srun); 1 when no launcher started this process.
[[nodiscard]] int launcher_world_size();

class World {
 public:
  /// The world of this process. The first call starts MPI when an MPI launcher started the process
  /// with more than one rank; it throws InvalidArgument when a launcher started several ranks but
  /// this build has no MPI (each rank would otherwise do the whole job). Not thread-safe on the
  /// first call.
  static World& get();

  World(const World&) = delete;
  World& operator=(const World&) = delete;
  ~World();

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  /// More than one rank (MPI running).
  [[nodiscard]] bool distributed() const { return size_ > 1; }
  /// Ranks running on this host (this one included): share its cores between them.
  [[nodiscard]] int ranks_on_host() const { return ranks_on_host_; }
  /// Threads for one rank when the user asked for "all cores" (0): the cores divided among the
  /// ranks of this host, at least 1. `requested` > 0 is returned unchanged.
  [[nodiscard]] int threads_per_rank(int requested) const;
  /// This host's name (for messages).
  [[nodiscard]] const std::string& host() const { return host_; }
  /// "rank 2 of 3 on host h" — for messages.
  [[nodiscard]] std::string where() const;
  /// The host name of every rank (rank 0 learns them at start-up; others know their own only).
  [[nodiscard]] std::string host_of(int rank) const;

  /// Ends every rank: prints "error (rank r of R on HOST): message" on stderr and aborts the MPI
  /// job with `code`. In a one-rank world it only throws Error(message) (the CLI prints it).
  [[noreturn]] void fail(const std::string& message, int code = 1);

  /// Waits until every rank arrives, polling every millisecond instead of spinning a core (ranks
  /// that wait share a machine with ranks that compute).
  void barrier();

  /// Rank `root`'s bytes on every rank (`bytes` is ignored on the other ranks).
  [[nodiscard]] std::vector<std::uint8_t> broadcast(std::vector<std::uint8_t> bytes, int root = 0);

  /// Every rank's bytes on every rank (result[r] = rank r's `mine`). Waits by polling, like barrier().
  [[nodiscard]] std::vector<std::vector<std::uint8_t>> allgather(const std::vector<std::uint8_t>& mine);

  /// Personalised exchange: `to[r]` goes to rank r; returns result[r] = what rank r sent here
  /// (result[rank()] = to[rank()], not sent). Collective; waits by polling, like barrier().
  [[nodiscard]] std::vector<std::vector<std::uint8_t>> alltoall(const std::vector<std::vector<std::uint8_t>>& to);
  /// The same exchange over one contiguous buffer each way, without per-rank vectors: `send`
  /// holds the bytes for rank 0, then for rank 1, … (`send_counts[r]` bytes each; this rank's
  /// count must be 0). What rank r sent here lands in `recv` at offset recv_offsets[r],
  /// recv_counts[r] bytes (`recv` grows as needed: keep it between exchanges).
  /// Collective; waits by polling, like barrier().
  void alltoallv(const std::uint8_t* send, const std::vector<std::uint64_t>& send_counts, ExchangeBuffer& recv, std::vector<std::uint64_t>& recv_counts,
                 std::vector<std::uint64_t>& recv_offsets);
  /// Memory that every rank holds at its own addresses, in the same regions of the same sizes, each
  /// region filled by one rank: `regions[r]` are the regions rank r has filled. Afterwards every rank
  /// holds every region's bytes; each region travels straight from its owner's memory into the
  /// others' (one message per region and peer, no staging buffer). A rank whose region sizes differ
  /// from rank 0's is an error (InvalidArgument on every rank). Collective; waits by polling.
  void share_regions(const std::vector<std::vector<std::span<std::uint8_t>>>& regions);
  /// `bytes` of memory that this rank shares with the other ranks on its host (POSIX shared memory:
  /// each host's first rank creates it, zero-filled, and every rank there maps it); ranks on other
  /// hosts share their own. Mapped until the World ends. Collective; IoError on every rank when any
  /// rank cannot map it (/dev/shm too small).
  [[nodiscard]] std::span<std::uint8_t> host_shared_memory(std::size_t bytes);
  /// True on every rank iff `value` is true on every rank.
  [[nodiscard]] bool all(bool value);

  /// A path to `path`'s contents that this rank can read. When every rank reads the same file
  /// (a shared file system, or a copy at the same path on each host: the normal case) that is
  /// `path` itself; ranks that cannot read it get rank 0's bytes, broadcast once, in a private
  /// temporary file removed at exit. A rank whose copy differs in size from rank 0's is an error
  /// (a stale key file on one host). Collective. Files larger than `max_bytes` are refused.
  [[nodiscard]] std::string shared_file(const std::string& path, std::uint64_t max_bytes);

  /// Bytes sent and received by this rank through this layer so far.
  [[nodiscard]] std::uint64_t bytes_sent() const { return bytes_sent_; }
  [[nodiscard]] std::uint64_t bytes_received() const { return bytes_received_; }

  // Used by the work queue (same layer): tagged point-to-point messages of bytes.
  void send(int dest, int tag, const std::vector<std::uint8_t>& bytes);
  /// A message from any rank waiting now, or false. Non-blocking.
  bool try_receive(int* source, int* tag, std::vector<std::uint8_t>* bytes);
  /// Waits (polling, no spinning) for a message from `source` with any tag.
  void receive(int source, int* tag, std::vector<std::uint8_t>* bytes);

 private:
  World();
  void count_sent(std::uint64_t n) { bytes_sent_ += n; }

  int rank_ = 0;
  int size_ = 1;
  int ranks_on_host_ = 1;
  int host_leader_ = 0;  // the lowest rank on this host
  std::vector<std::pair<void*, std::size_t>> host_maps_;  // host_shared_memory()
  bool mpi_ = false;
  std::string host_;
  std::vector<std::string> hosts_;
  std::vector<std::string> temp_files_;
  std::uint64_t bytes_sent_ = 0, bytes_received_ = 0;
};

/// Runs `body`; in a distributed world an exception on any rank ends the whole job through
/// World::fail (no rank is left waiting); in a one-rank world exceptions pass through unchanged.
void run_or_fail(World& world, const std::function<void()>& body);

}  // namespace cryptounet::distributed
