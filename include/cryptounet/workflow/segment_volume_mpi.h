// The MPI volume mode: segment_volume's batches of slices shared across the ranks of a World by
// the dynamic work queue (distributed/work_queue.h). Rank 0 runs segment_volume (it alone reads
// the volume, holds the secret key, keeps the checkpoint and writes the result); for each batch it
// encodes the model inputs into bytes (encrypts them), whichever rank asks next computes on those
// bytes (infers on the ciphertexts with the evaluation keys), and rank 0 decodes the result
// (decrypts) and finishes the slices. The other ranks only serve batches. Since CKKS evaluation is
// deterministic given its inputs, the result is the one-process result for any number of ranks.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "cryptounet/distributed/work_queue.h"
#include "cryptounet/distributed/world.h"
#include "cryptounet/workflow/segment_volume.h"

namespace cryptounet::nn {

/// A slice model split where its batches travel between ranks.
struct RemoteSliceModel {
  int batch = 1;
  /// Rank 0: a batch of model inputs (1..batch) as bytes (e.g. its input ciphertexts).
  std::function<distributed::Bytes(const std::vector<Tensor>&)> encode;
  /// Any rank: the result bytes of one encoded batch (e.g. the output ciphertexts).
  std::function<distributed::Bytes(distributed::Bytes)> compute;
  /// Rank 0: the logits of the first `count` inputs of the batch from compute's bytes.
  std::function<std::vector<Tensor>(distributed::Bytes, std::size_t count)> decode;
};

/// What the queue did (rank 0: per rank; other ranks: their own bytes and wall time).
struct VolumeQueueReport {
  distributed::QueueStats stats;
  std::size_t batches = 0;
};

/// Rank 0: a SliceModel (run_all) whose batches go through the work queue of `world`; `report`
/// (may be null) gets the queue's figures after segment_volume returns. Every other rank must be
/// in serve_slice_batches meanwhile. `options` (heartbeat, silence timeout) as the queue's.
[[nodiscard]] SliceModel distributed_slice_model(distributed::World& world, RemoteSliceModel remote,
                                                 VolumeQueueReport* report = nullptr,
                                                 const distributed::QueueOptions& options = {});

/// Ranks other than 0: computes the batches rank 0's segment_volume hands out until it has no more.
/// Collective with rank 0's run_all (one call per segment_volume).
VolumeQueueReport serve_slice_batches(distributed::World& world,
                                      const std::function<distributed::Bytes(distributed::Bytes)>& compute,
                                      const distributed::QueueOptions& options = {});

/// Tensors as bytes (shape and float64 values, exact): the plaintext model's batches travel so.
[[nodiscard]] distributed::Bytes encode_tensors(const std::vector<Tensor>& tensors);
/// @throws FormatError on bytes that are not encode_tensors output.
[[nodiscard]] std::vector<Tensor> decode_tensors(const distributed::Bytes& bytes);

}  // namespace cryptounet::nn
