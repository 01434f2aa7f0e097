// The files of the client/server command chain (cryptounet plan / keygen / encrypt / infer /
// decrypt), on top of the CKKS formats of ckks/serialize.h:
//   KEYDIR/secret.key  the secret key (mode 0600); stays with the client, never read by `infer`
//   KEYDIR/eval.keys   relinearisation + Galois keys for exactly the plan's steps, seeded; the
//                      only key material the server receives
//   KEYDIR/keys.json   public bookkeeping: the key id and the plan the keys were made for
//   *.ct               an encrypted tensor: the common header (kind EncryptedTensor, parameter
//                      fingerprint), then u64 plan fingerprint, u64 key id, u8 role (1 input,
//                      2 output), u64 length and a ckks CiphertextSet file of that length.
// The key id is derived from the public relinearisation key (evaluation_key_id), so a server can
// recompute it from eval.keys and refuse a ciphertext encrypted under another key before running
// for minutes and returning garbage; the client checks it again before decrypting.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"

namespace cryptounet::nn {

inline constexpr const char* kSecretKeyFile = "secret.key";
inline constexpr const char* kEvalKeysFile = "eval.keys";
inline constexpr const char* kKeyInfoFile = "keys.json";

/// 64 bits of SHA-256 over the relinearisation key's seed and first words (public data).
/// Throws InvalidArgument if there is no relinearisation key.
[[nodiscard]] std::uint64_t evaluation_key_id(const ckks::EvaluationKeys& keys);

struct KeyInfo {
  std::uint64_t key_id = 0;
  std::uint64_t plan = 0;          // plan_fingerprint of the plan the keys were made for
  std::uint64_t parameters = 0;    // CKKS parameter fingerprint
};
void write_key_info(const std::string& key_dir, const KeyInfo& info);
/// @throws IoError (missing: "run cryptounet keygen"), FormatError (malformed).
[[nodiscard]] KeyInfo read_key_info(const std::string& key_dir);

enum class TensorRole : std::uint8_t { input = 1, output = 2 };
[[nodiscard]] const char* role_name(TensorRole role);

struct EncryptedTensor {
  std::uint64_t plan = 0;
  std::uint64_t key_id = 0;
  TensorRole role = TensorRole::input;
  std::vector<ckks::Ciphertext> cts;
};

/// Bytes an encrypted-tensor file adds around its ciphertext-set file: header, plan, key id,
/// role, length.
inline constexpr std::size_t kEncryptedTensorOverhead = 32 + 8 + 8 + 1 + 8;
/// Exact size of an encrypted-tensor file holding ciphertexts at `levels` (size 2), seeded (fresh
/// secret-key encryptions: inputs) or not.
[[nodiscard]] std::size_t encrypted_tensor_file_size(const ckks::Context& ctx, std::span<const int> levels,
                                                     bool seeded);

/// Seeded where the ciphertexts are fresh secret-key encryptions (inputs), full otherwise.
[[nodiscard]] std::vector<std::uint8_t> encode_encrypted_tensor(const EncryptedTensor& t,
                                                                const ckks::Context& ctx);
/// @throws FormatError (truncated or malformed), SecurityError (other CKKS parameters).
[[nodiscard]] EncryptedTensor decode_encrypted_tensor(std::span<const std::uint8_t> bytes,
                                                      const ckks::Context& ctx,
                                                      const std::string& what);
void write_encrypted_tensor(const std::string& path, const EncryptedTensor& t, const ckks::Context& ctx);
/// Refuses files larger than `max_bytes` before reading them (see max_tensor_file_bytes).
[[nodiscard]] EncryptedTensor read_encrypted_tensor(const std::string& path, const ckks::Context& ctx,
                                                    std::uint64_t max_bytes);
/// The largest file an encrypted tensor of `team` ciphertexts can need (unseeded, top level).
[[nodiscard]] std::uint64_t max_tensor_file_bytes(const ckks::Context& ctx, int team);
/// The largest eval.keys a plan with `rotation_steps` Galois keys can need (unseeded).
[[nodiscard]] std::uint64_t max_eval_keys_file_bytes(const ckks::Context& ctx, std::size_t rotation_steps);

/// Refuses (InvalidArgument, saying which and what to do) a tensor of another role, made for
/// another plan, or under another key. `what` names the file in the message.
void check_encrypted_tensor(const EncryptedTensor& t, TensorRole role, std::uint64_t plan,
                            std::uint64_t key_id, const std::string& what);

}  // namespace cryptounet::nn
