// `mpirun -np R cryptounet segment-volume ...`: what rank 0 sends the other ranks before the
// slices (the plan and the evaluation keys, once) and the slice model each side runs. Rank 0 keeps
// the secret key: it encrypts each batch of slices, any rank infers on the ciphertexts, rank 0
// decrypts (workflow/segment_volume_mpi.h).
#pragma once

#include <memory>
#include <string>

#include "cryptounet/distributed/world.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/workflow/pipeline.h"
#include "cryptounet/workflow/segment_volume_mpi.h"

namespace cryptounet::cli {

/// Rank 0, encrypted: the plan and evaluation keys for the other ranks (bytes of a broadcast).
[[nodiscard]] distributed::Bytes encrypted_volume_setup(const nn::EncryptedPipeline& pipe, const nn::Graph& graph);

/// Rank 0: the remote form of the encrypted chain (pipe encrypts and decrypts, infers on its own
/// context and keys when rank 0 takes a batch) or of the plaintext reference.
[[nodiscard]] nn::RemoteSliceModel encrypted_remote_model(std::shared_ptr<nn::EncryptedPipeline> pipe,
                                                          const nn::Graph& graph);
[[nodiscard]] nn::RemoteSliceModel plain_remote_model(const nn::Graph& graph);

/// Ranks other than 0: serves rank 0's batches, from `setup` (encrypted_volume_setup's bytes, or
/// empty for the plaintext model), with `threads` threads. Returns when rank 0 has no more.
void serve_volume_batches(distributed::World& world, const nn::Graph& graph, const distributed::Bytes& setup,
                          bool plaintext, int threads);

}  // namespace cryptounet::cli
