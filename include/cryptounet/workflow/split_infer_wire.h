// How latency mode (workflow/split_infer.h) lays ciphertexts out for World::alltoallv: straight
// from the residue words into one send buffer and from the receive buffer into new ciphertexts,
// with no per-ciphertext byte vector, no bit stream and no per-destination buffers to join (on a
// busy layer of brain64 these copies and their fresh pages cost more than the layer's products).
//
// Per destination: u32 count, then per ciphertext a fixed header (u32 index, step, order, level,
// parts; f64 scale) and parts x (level+1) x N residue words, each fully reduced (< q_t) and stored
// in the fewest whole bytes that hold q_t - 1 (5 for a 40-bit prime: as small as the file format's
// bit packing for byte-sized primes, and a plain byte copy), little-endian (every rank of a run is
// the same build on the same architecture). The reader treats the bytes as hostile: sizes, levels,
// scales and every word are checked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cryptounet/ckks/context.h"
#include "cryptounet/distributed/exchange_buffer.h"
#include "cryptounet/he/exec/executor.h"

namespace cryptounet::nn {

/// Bytes one parcel of `ct` takes on the wire (header included).
[[nodiscard]] std::uint64_t wire_bytes(const ckks::Ciphertext& ct, const ckks::Context& ctx);

/// Lays `parcels` (peer = destination in [0, ranks), never `rank`) out in `buf` (grown as needed),
/// grouped by destination in rank order; `counts[r]` = the bytes for rank r.
/// Residue words >= q_t are reduced on the way (the same residues).
void pack_parcels(const std::vector<CtParcel>& parcels, int rank, int ranks, const ckks::Context& ctx,
                  distributed::ExchangeBuffer& buf, std::vector<std::uint64_t>& counts);

/// The parcels of one sender's bytes (`peer` set to `from`). Throws FormatError naming `what` for
/// truncated or trailing bytes, an impossible level, part count or scale, or a word >= q_t.
[[nodiscard]] std::vector<CtParcel> unpack_parcels(std::span<const std::uint8_t> bytes, int from,
                                                   const ckks::Context& ctx, const std::string& what);

}  // namespace cryptounet::nn
