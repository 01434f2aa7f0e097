// Binary serialisation of CKKS objects: parameters, keys, plaintexts, ciphertexts and ciphertext
// sets (the input or output of one inference). Every file is a 32-byte FileHeader (magic, format
// version, ObjectKind, the parameter fingerprint, payload length; common/binary_io.h) followed by
// a little-endian payload.
//
// Compactness: polynomial coefficients are bit-packed at bits(q_i) bits each (40 or 41 bits for a
// 40-bit scale prime instead of 64), and the uniform half of fresh secret-key ciphertexts and of
// every evaluation key (public key, relinearisation and Galois keys) is stored as the 32-byte seed
// it was expanded from (about half the size; SaveOptions{.seeded = false} stores it in full).
// A secret key is stored as its N ternary coefficients (one byte each).
//
// Readers trust nothing: they check the header (kind, version, fingerprint against the context's
// parameters), every count before allocating (bounded by N, the level count, the digit count and
// by the bytes actually present), every coefficient < its prime, scales finite and positive,
// levels within the chain, Galois elements odd in [3, 2N) and strictly increasing, secret-key
// coefficients in {-1, 0, 1}, and that no byte trails. Malformed input throws FormatError; a
// file made for other parameters throws SecurityError. They never crash and never allocate more
// than the input's own size justifies.
//
// Layouts (after the header; "poly(l)" = limbs 0..l-1 of the object's primes, each limb N
// coefficients of bits(q) bits as a little-endian bit stream, N * bits(q) / 8 bytes; "ksk" = u8 seeded, then dnum x b poly over all Q+P
// primes, then the 32-byte seed or dnum x a poly):
//   Params          u32 log_n, u32 #Q, i32 log_q[#Q], u32 #P, i32 log_p[#P], i32 log_scale,
//                   i32 dnum (as in the literal), u8 insecure, u64 q[#Q], u64 p[#P]
//   SecretKey       N x i8 ternary coefficients
//   PublicKey       u8 seeded, b poly(#Q), seed or a poly(#Q)
//   RelinKey        ksk
//   GaloisKeys      u32 count, count x (u64 galois element, ksk), elements strictly increasing
//   EvaluationKeys  u8 has_relin, [ksk], then the GaloisKeys payload
//   Plaintext       u32 level, f64 scale, poly(level+1)
//   Ciphertext      u32 level, u8 size (2|3), f64 scale, u8 seeded, part0, seed or parts 1..size-1
//   CiphertextSet   u32 count, count x Ciphertext payload
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/ckks/params.h"
#include "cryptounet/ckks/plaintext.h"
#include "cryptounet/common/binary_io.h"

namespace cryptounet::ckks {

struct SaveOptions {
  /// Store uniform halves as their 32-byte seed where the object has one (fresh secret-key
  /// ciphertexts, keys from KeyGenerator). false: store every polynomial in full.
  bool seeded = true;
};

/// Most ciphertexts in one set file.
inline constexpr std::size_t kMaxCiphertextSetCount = std::size_t{1} << 20;
/// Default cap on the size of a file read by the load_*_file helpers.
inline constexpr std::uint64_t kDefaultMaxFileBytes = std::uint64_t{64} << 30;

// --- writers: bytes of a complete file (header + payload). Throw InvalidArgument if the object
// is empty or belongs to other parameters than ctx. ---
[[nodiscard]] std::vector<std::uint8_t> save(const Params& params);
/// The returned bytes hold the secret: wipe them (wipe_bytes) when done; save_secret_key_file does.
[[nodiscard]] std::vector<std::uint8_t> save(const SecretKey& sk, const Context& ctx);
[[nodiscard]] std::vector<std::uint8_t> save(const PublicKey& pk, const Context& ctx, const SaveOptions& opt = {});
[[nodiscard]] std::vector<std::uint8_t> save(const RelinKey& rk, const Context& ctx, const SaveOptions& opt = {});
[[nodiscard]] std::vector<std::uint8_t> save(const GaloisKeys& gk, const Context& ctx, const SaveOptions& opt = {});
[[nodiscard]] std::vector<std::uint8_t> save(const EvaluationKeys& evk, const Context& ctx,
                                             const SaveOptions& opt = {});
[[nodiscard]] std::vector<std::uint8_t> save(const Plaintext& pt, const Context& ctx);
[[nodiscard]] std::vector<std::uint8_t> save(const Ciphertext& ct, const Context& ctx, const SaveOptions& opt = {});
[[nodiscard]] std::vector<std::uint8_t> save_ciphertext_set(std::span<const Ciphertext> cts, const Context& ctx,
                                                            const SaveOptions& opt = {});

// --- readers: FormatError for malformed input, SecurityError for other parameters. ---
/// Rebuilds Params::from_literal from the stored literal and checks that the stored primes and
/// the header fingerprint match. Insecure parameter sets are refused (SecurityError) unless
/// allow_insecure.
[[nodiscard]] Params load_params(std::span<const std::uint8_t> bytes, bool allow_insecure = false);
[[nodiscard]] SecretKey load_secret_key(std::span<const std::uint8_t> bytes, const Context& ctx);
[[nodiscard]] PublicKey load_public_key(std::span<const std::uint8_t> bytes, const Context& ctx);
[[nodiscard]] RelinKey load_relin_key(std::span<const std::uint8_t> bytes, const Context& ctx);
[[nodiscard]] GaloisKeys load_galois_keys(std::span<const std::uint8_t> bytes, const Context& ctx);
[[nodiscard]] EvaluationKeys load_evaluation_keys(std::span<const std::uint8_t> bytes, const Context& ctx);
[[nodiscard]] Plaintext load_plaintext(std::span<const std::uint8_t> bytes, const Context& ctx);
[[nodiscard]] Ciphertext load_ciphertext(std::span<const std::uint8_t> bytes, const Context& ctx);
[[nodiscard]] std::vector<Ciphertext> load_ciphertext_set(std::span<const std::uint8_t> bytes, const Context& ctx);

// --- exact sizes without serialising (a server sizes its request limits from these) ---
/// Bytes of a Ciphertext file at `level` with `size` parts, seeded (size 2 only) or not.
[[nodiscard]] std::size_t ciphertext_file_size(const Context& ctx, int level, std::size_t size = 2,
                                               bool seeded = false);
/// Bytes of a CiphertextSet file of ciphertexts at the given levels (size 2).
[[nodiscard]] std::size_t ciphertext_set_file_size(const Context& ctx, std::span<const int> levels,
                                                   bool seeded = false);
/// Bytes of an EvaluationKeys file with (or without) a relinearisation key and `galois_count` keys.
[[nodiscard]] std::size_t evaluation_keys_file_size(const Context& ctx, bool has_relin, std::size_t galois_count,
                                                    bool seeded = true);

// --- files ---
/// Writes a secret key atomically with mode 0600, and wipes the serialised bytes.
void save_secret_key_file(const std::string& path, const SecretKey& sk, const Context& ctx);
/// Reads a secret-key file (refusing one readable by group or others) and wipes the file bytes.
[[nodiscard]] SecretKey load_secret_key_file(const std::string& path, const Context& ctx);
/// write_file_atomic of the bytes (any public object's save()).
void save_file(const std::string& path, std::span<const std::uint8_t> bytes);
/// read_file capped at max_bytes, then the loader of the kind.
[[nodiscard]] Params load_params_file(const std::string& path, bool allow_insecure = false);
[[nodiscard]] PublicKey load_public_key_file(const std::string& path, const Context& ctx,
                                             std::uint64_t max_bytes = kDefaultMaxFileBytes);
[[nodiscard]] EvaluationKeys load_evaluation_keys_file(const std::string& path, const Context& ctx,
                                                       std::uint64_t max_bytes = kDefaultMaxFileBytes);

/// Which keys of an EvaluationKeys file a filtered load expands (the others are read past: their
/// layout is checked, their coefficients are not, and they are absent from the result).
struct KeySelection {
  bool relin = true;
  /// Galois key number `index` (in file order, 0-based) with element `galois_element`: expand it?
  /// Empty: every Galois key.
  std::function<bool(std::size_t index, std::uint64_t galois_element)> galois;
};

/// load_evaluation_keys_file expanding only the selected keys; the Galois elements of the keys left
/// out go to `skipped` (in file order) when it is not null. A rotation by a step whose key was left
/// out fails as for any key the file lacks ("no Galois key for step ...").
[[nodiscard]] EvaluationKeys load_evaluation_keys_file(const std::string& path, const Context& ctx,
                                                       std::uint64_t max_bytes, const KeySelection& select,
                                                       std::vector<std::uint64_t>* skipped = nullptr);
[[nodiscard]] Ciphertext load_ciphertext_file(const std::string& path, const Context& ctx,
                                              std::uint64_t max_bytes = kDefaultMaxFileBytes);
[[nodiscard]] std::vector<Ciphertext> load_ciphertext_set_file(const std::string& path, const Context& ctx,
                                                               std::uint64_t max_bytes = kDefaultMaxFileBytes);

/// Overwrites the bytes with zeros through a volatile pointer and clears the vector.
void wipe_bytes(std::vector<std::uint8_t>& bytes);

}  // namespace cryptounet::ckks
