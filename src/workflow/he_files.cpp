#include "cryptounet/workflow/he_files.h"

#include <array>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/common/sha256.h"

namespace cryptounet::nn {

namespace {

std::uint64_t parse_hex64(const std::string& s, const std::string& what) {
  if (s.size() != 16 || s.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw FormatError(what + ": '" + s + "' is not a 16-digit hex fingerprint");
  return std::stoull(s, nullptr, 16);
}

}  // namespace

std::uint64_t evaluation_key_id(const ckks::EvaluationKeys& keys) {
  if (keys.relin.empty() || keys.relin.key.b.empty() || keys.relin.key.b[0].empty())
    throw InvalidArgument("evaluation keys: no relinearisation key to identify them by");
  Sha256 h;
  h.update("cryptounet key id");
  h.update(keys.relin.key.seed);
  const math::RnsPoly& b = keys.relin.key.b[0];
  const std::size_t words = std::min<std::size_t>(b.n(), 16);
  h.update(std::span(reinterpret_cast<const std::uint8_t*>(b.limb(0)), words * 8));
  return h.finish_u64();
}

void write_key_info(const std::string& key_dir, const KeyInfo& info) {
  const nlohmann::json j{{"format", "cryptounet-keys"},
                         {"key_id", hex64(info.key_id)},
                         {"plan", hex64(info.plan)},
                         {"parameters", hex64(info.parameters)}};
  const std::string text = j.dump(1) + "\n";
  write_file_atomic((std::filesystem::path(key_dir) / kKeyInfoFile).string(),
                    std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

KeyInfo read_key_info(const std::string& key_dir) {
  const std::string path = (std::filesystem::path(key_dir) / kKeyInfoFile).string();
  if (!std::filesystem::exists(path))
    throw IoError("key folder '" + key_dir + "' has no " + kKeyInfoFile +
                  " (make keys with `cryptounet keygen --plan P --out " + key_dir + "`)");
  const auto bytes = read_file(path, 1 << 16);
  const std::string what = "key info '" + path + "'";
  try {
    const auto j = nlohmann::json::parse(bytes.begin(), bytes.end());
    if (j.at("format").get<std::string>() != "cryptounet-keys")
      throw FormatError(what + ": not a cryptounet key info file");
    KeyInfo k;
    k.key_id = parse_hex64(j.at("key_id").get<std::string>(), what);
    k.plan = parse_hex64(j.at("plan").get<std::string>(), what);
    k.parameters = parse_hex64(j.at("parameters").get<std::string>(), what);
    return k;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(what + ": malformed: " + e.what());
  }
}

const char* role_name(TensorRole role) {
  switch (role) {
    case TensorRole::input: return "input";
    case TensorRole::output: return "output";
  }
  return "unknown";
}

std::vector<std::uint8_t> encode_encrypted_tensor(const EncryptedTensor& t, const ckks::Context& ctx) {
  const auto set = ckks::save_ciphertext_set(t.cts, ctx, ckks::SaveOptions{.seeded = true});
  BinaryWriter w;
  const std::uint64_t payload = 8 + 8 + 1 + 8 + set.size();
  w.reserve_more(FileHeader::kSize + payload);
  write_header(w, ObjectKind::EncryptedTensor, ctx.fingerprint(), payload);
  w.u64(t.plan);
  w.u64(t.key_id);
  w.u8(static_cast<std::uint8_t>(t.role));
  w.u64(set.size());
  w.raw(set);
  return w.take();
}

EncryptedTensor decode_encrypted_tensor(std::span<const std::uint8_t> bytes, const ckks::Context& ctx,
                                        const std::string& what) {
  BinaryReader r(bytes, what);
  read_header(r, ObjectKind::EncryptedTensor, ctx.fingerprint());
  EncryptedTensor t;
  t.plan = r.u64();
  t.key_id = r.u64();
  const std::uint8_t role = r.u8();
  if (role != 1 && role != 2) throw FormatError(what + ": unknown tensor role " + std::to_string(role));
  t.role = static_cast<TensorRole>(role);
  const std::size_t n = r.count(r.remaining(), 1, "ciphertext set length");
  const auto inner = r.raw(n);
  r.expect_end();
  try {
    t.cts = ckks::load_ciphertext_set(inner, ctx);
  } catch (const FormatError& e) {
    throw FormatError(what + ": " + e.what());
  }
  return t;
}

void write_encrypted_tensor(const std::string& path, const EncryptedTensor& t, const ckks::Context& ctx) {
  write_file_atomic(path, encode_encrypted_tensor(t, ctx));
}

EncryptedTensor read_encrypted_tensor(const std::string& path, const ckks::Context& ctx, std::uint64_t max_bytes) {
  // Peek at the header first, so a file of other parameters is named as such even when it is
  // larger than any file of these parameters may be.
  {
    std::ifstream in(path, std::ios::binary);
    std::array<std::uint8_t, FileHeader::kSize> head{};
    if (in && in.read(reinterpret_cast<char*>(head.data()), head.size())) {
      BinaryReader r(head, "'" + path + "'");
      const bool ours = r.u64() == FileHeader::kMagic;
      (void)r.u16();
      const auto kind = static_cast<ObjectKind>(r.u16());
      (void)r.u32();
      const std::uint64_t fp = r.u64();
      if (ours && kind != ObjectKind::EncryptedTensor)
        throw FormatError("'" + path + "': wrong kind of file (holds: " + std::string(object_kind_name(kind)) + ")" +
                          "; expected an encrypted tensor (from `cryptounet encrypt` or `infer`)");
      if (ours && fp != ctx.fingerprint())
        throw SecurityError("'" + path + "': made for other CKKS parameters (fingerprint " + std::to_string(fp) +
                            ", expected " + std::to_string(ctx.fingerprint()) + ")");
    }
  }
  return decode_encrypted_tensor(read_file(path, max_bytes), ctx, "'" + path + "'");
}

std::size_t encrypted_tensor_file_size(const ckks::Context& ctx, std::span<const int> levels, bool seeded) {
  return kEncryptedTensorOverhead + ckks::ciphertext_set_file_size(ctx, levels, seeded);
}

std::uint64_t max_tensor_file_bytes(const ckks::Context& ctx, int team) {
  const std::vector<int> levels(static_cast<std::size_t>(std::max(team, 0)), ctx.max_level());
  return encrypted_tensor_file_size(ctx, levels, false);
}

std::uint64_t max_eval_keys_file_bytes(const ckks::Context& ctx, std::size_t rotation_steps) {
  return ckks::evaluation_keys_file_size(ctx, true, rotation_steps, false);
}

void check_encrypted_tensor(const EncryptedTensor& t, TensorRole role, std::uint64_t plan, std::uint64_t key_id,
                            const std::string& what) {
  if (t.role != role)
    throw InvalidArgument(what + " holds an encrypted " + role_name(t.role) + ", expected an encrypted " +
                          role_name(role) +
                          (role == TensorRole::input ? " (from `cryptounet encrypt`)" : " (from `cryptounet infer`)"));
  if (t.plan != plan)
    throw InvalidArgument(what + " was made for another plan (" + hex64(t.plan) + ", this plan is " +
                          hex64(plan) + "); encrypt the image again with this plan's keys");
  if (t.key_id != key_id)
    throw InvalidArgument(what + " was encrypted under another key (key id " + hex64(t.key_id) +
                          ", these keys are " + hex64(key_id) +
                          "); use the evaluation keys made together with the secret key that encrypted it");
}

}  // namespace cryptounet::nn
