// Evaluation keys loaded once across the ranks of an MPI run: each rank reads the key file but
// unpacks and expands only every R-th Galois key (its share: key k goes to rank k mod R), reads past
// the others, and receives them from their ranks straight into its own key polynomials
// (World::share_regions). Every rank ends with the same keys, word for word, as a whole load; the
// unpacking and seed expansion (the costly part of a load: each seeded key's uniform half is
// regenerated from its seed) is divided among the ranks instead of repeated by each.
// When all the ranks run on one host, the Galois keys are not copied into every rank: each rank
// writes the keys it expanded into memory the host's ranks share (World::host_shared_memory), and
// every rank's keys are views of that one copy (R ranks hold one key set, not R: less memory, and on
// a VM that charges for fresh pages, less of that). CU_HOST_SHARED_KEYS=0 keeps a copy per rank.
#pragma once

#include <cstdint>
#include <string>

#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/distributed/world.h"

namespace cryptounet::nn {

/// What the load did on this rank: Galois keys expanded here and received from other ranks (or,
/// in host-shared memory, expanded by the other ranks of the host), and the bytes of that memory.
struct SharedKeysReport {
  std::size_t expanded_here = 0, received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t host_shared_bytes = 0;
};

/// ckks::load_evaluation_keys_file on every rank of `world` (collective), the Galois keys shared
/// out as above; in a one-rank world, or with the environment variable CU_SHARE_KEYS=0 (the same on
/// every rank: to compare), every rank's own whole load. Every rank loads the relinearisation key
/// itself (one key; it identifies the key set). Any rank's error (a malformed key: each is checked
/// by the rank that expands it) ends the run through the caller's run_or_fail.
[[nodiscard]] ckks::EvaluationKeys load_evaluation_keys_shared(distributed::World& world, const std::string& path,
                                                              const ckks::Context& ctx, std::uint64_t max_bytes,
                                                              SharedKeysReport* report = nullptr);

}  // namespace cryptounet::nn
