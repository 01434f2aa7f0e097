#include "cryptounet/common/binary_io.h"


namespace cryptounet {

const char* object_kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::Params: return "parameters";
    case ObjectKind::SecretKey: return "secret key";
    case ObjectKind::PublicKey: return "public key";
    case ObjectKind::RelinKey: return "relinearisation key";
    case ObjectKind::GaloisKeys: return "Galois keys";
    case ObjectKind::EvaluationKeys: return "evaluation keys";
    case ObjectKind::Plaintext: return "plaintext";
    case ObjectKind::Ciphertext: return "ciphertext";
    case ObjectKind::CiphertextSet: return "ciphertext set";
    case ObjectKind::Plan: return "plan";
    case ObjectKind::EncryptedTensor: return "encrypted tensor";
  }
  return "unknown object";
}

void write_header(BinaryWriter& w, ObjectKind kind, std::uint64_t fingerprint, std::uint64_t payload_bytes) {
  w.u64(FileHeader::kMagic);
  w.u16(FileHeader::kVersion);
  w.u16(static_cast<std::uint16_t>(kind));
  w.u32(0);  // reserved, must be zero
  w.u64(fingerprint);
  w.u64(payload_bytes);
}

FileHeader read_header(BinaryReader& r, ObjectKind expected_kind, std::uint64_t expected_fingerprint) {
  const std::string want = object_kind_name(expected_kind);
  if (r.remaining() < FileHeader::kSize)
    throw FormatError(r.what() + ": truncated: " + std::to_string(r.remaining()) +
                      " bytes is shorter than the 32-byte file header (expected: " + want + ")");
  if (r.u64() != FileHeader::kMagic)
    throw FormatError(r.what() + ": not a CryptoUNet file (bad magic number)");
  FileHeader h;
  h.version = r.u16();
  if (h.version != FileHeader::kVersion)
    throw FormatError(r.what() + ": format version " + std::to_string(h.version) +
                      " is not supported (this build reads version " +
                      std::to_string(FileHeader::kVersion) + ")");
  h.kind = static_cast<ObjectKind>(r.u16());
  if (h.kind != expected_kind)
    throw FormatError(r.what() + ": wrong kind of file (holds: " + std::string(object_kind_name(h.kind)) + "; expected: " + want + ")");
  if (r.u32() != 0) throw FormatError(r.what() + ": reserved header field is not zero");
  h.fingerprint = r.u64();
  if (expected_fingerprint != 0 && h.fingerprint != expected_fingerprint)
    throw SecurityError(r.what() + ": made for other CKKS parameters or keys (fingerprint " +
                        std::to_string(h.fingerprint) + ", expected " +
                        std::to_string(expected_fingerprint) + ")");
  h.payload_bytes = r.u64();
  if (h.payload_bytes != r.remaining())
    throw FormatError(r.what() + ": header announces " + std::to_string(h.payload_bytes) +
                      " payload bytes but " + std::to_string(r.remaining()) + " follow" +
                      (h.payload_bytes > r.remaining() ? " (truncated file?)" : ""));
  return h;
}

}  // namespace cryptounet
